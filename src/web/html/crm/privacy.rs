//! Privacy requests on a contact's page: download everything held about it (JSON) and erase
//! it. Managers and up, with a fresh second factor (the service checks both).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client};

/// `GET /contacts/{id}/privacy-export.json`
pub async fn export(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    let refuse = |e| HtmlError::while_doing("export the contact's data", e);
    let document = state.app.privacy().export(&session.scope, id, &client).await.map_err(refuse)?;
    let body = serde_json::to_string_pretty(&document)
        .map_err(|e| refuse(crate::error::AppError::internal(crate::error::ErrorCode::Internal, e)))?;
    Ok(super::io::attachment("application/json", &format!("contact-{id}-privacy-export.json"), body))
}

/// `POST /contacts/{id}/erase`
pub async fn erase(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    state
        .app
        .privacy()
        .erase(&session.scope, id, &client)
        .await
        .map_err(|e| HtmlError::while_doing("erase the contact", e))?;
    Ok(Redirect::to("/contacts?notice=contact-erased").into_response())
}
