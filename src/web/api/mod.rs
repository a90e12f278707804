//! JSON API v1: bearer-token authenticated, problem+json errors with codes.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

mod files;
pub mod openapi;
mod portal;
mod records;
mod search;

use super::AppState;
use super::error::ApiError;
use super::extract::ApiScope;
use crate::domain::crm::{Company, Contact, Deal, Note, Task};
use crate::error::ErrorCode;

/// Every endpoint under `/api/v1`, by literal path.
pub fn routes() -> Router<AppState> {
    use records::{create, list, remove, show, update};
    Router::new()
        .route("/me", get(me))
        .route("/openapi.json", get(openapi::serve))
        .route("/search", get(search::search))
        .route("/companies", get(list::<Company>).post(create::<Company>))
        .route("/companies/{id}", get(show::<Company>).patch(update::<Company>).delete(remove::<Company>))
        .route("/contacts", get(list::<Contact>).post(create::<Contact>))
        .route("/contacts/{id}", get(show::<Contact>).patch(update::<Contact>).delete(remove::<Contact>))
        .route("/contacts/{id}/privacy-export", get(records::privacy_export))
        .route("/deals", get(list::<Deal>).post(create::<Deal>))
        .route("/deals/{id}", get(show::<Deal>).patch(update::<Deal>).delete(remove::<Deal>))
        .route("/notes", get(list::<Note>).post(create::<Note>))
        .route("/notes/{id}", get(show::<Note>).patch(update::<Note>).delete(remove::<Note>))
        .route("/tasks", get(list::<Task>).post(create::<Task>))
        .route("/tasks/{id}", get(show::<Task>).patch(update::<Task>).delete(remove::<Task>))
        .route(
            "/contacts/{id}/files",
            get(files::list::<Contact>).post(files::upload::<Contact>).layer(crate::web::layers::file_body_limit()),
        )
        .route(
            "/companies/{id}/files",
            get(files::list::<Company>).post(files::upload::<Company>).layer(crate::web::layers::file_body_limit()),
        )
        .route(
            "/deals/{id}/files",
            get(files::list::<Deal>).post(files::upload::<Deal>).layer(crate::web::layers::file_body_limit()),
        )
        .route(
            "/notes/{id}/files",
            get(files::list::<Note>).post(files::upload::<Note>).layer(crate::web::layers::file_body_limit()),
        )
        .route(
            "/companies/{id}/portal/documents",
            get(portal::documents).post(portal::share).layer(crate::web::layers::file_body_limit()),
        )
        .route("/companies/{id}/portal/requests", get(portal::requests).post(portal::create_request))
        .route("/companies/{id}/portal/messages", get(portal::messages).post(portal::post_message))
        .route("/files/{id}/link", get(files::link))
        .route("/files/{id}", axum::routing::delete(files::delete))
        .fallback(|| async { ApiError::from(ErrorCode::NotFound) })
}

/// Who the token acts as: a cheap way for scripts to check their token.
async fn me(State(_state): State<AppState>, ApiScope(scope): ApiScope) -> Json<serde_json::Value> {
    Json(json!({
        "user_id": scope.user().to_string(),
        "workspace_id": scope.workspace().to_string(),
        "role": scope.role().as_str(),
    }))
}
