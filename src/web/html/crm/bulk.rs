//! Bulk actions from a list (tag, assign, delete — managers and up) and merging a duplicate
//! contact or company into the one on screen.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::kinds::{PageKind, path};
use super::values::Values;
use crate::app::crm::BulkAction;
use crate::app::crm::merge::Mergeable;
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client};

/// The action chosen in the bulk bar.
fn action(values: &Values) -> Result<BulkAction, AppError> {
    match values.get("action") {
        "tag" => Ok(BulkAction::AddTag(crate::domain::fields::tag(values.get("tag"), "tag")?)),
        "assign" => {
            let user = crate::domain::crm::user_id(values.get("owner"), "owner")?;
            Ok(BulkAction::Assign(user.ok_or(AppError::field(ErrorCode::Required, "owner"))?))
        }
        "delete" => Ok(BulkAction::Delete),
        _ => Err(AppError::field(ErrorCode::InvalidFormat, "action")),
    }
}

/// `POST /{plural}/bulk` (`ids`, `action`, `tag` | `owner`): back to the list with a notice.
pub async fn apply<T: PageKind>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let values = Values::parse(&body);
    let run = async {
        let ids = values
            .all("ids")
            .iter()
            .map(|id| id.parse::<RecordId>().map_err(|_| AppError::field(ErrorCode::InvalidFormat, "ids")))
            .collect::<Result<Vec<_>, _>>()?;
        state.app.records().bulk::<T>(&session.scope, ids, action(&values)?, &client).await
    };
    run.await.map_err(|e| HtmlError::while_doing("change the selection", e))?;
    Ok(Redirect::to(&format!("/{}?notice=bulk-done", T::KIND.plural())).into_response())
}

/// `POST /{plural}/{id}/merge` (`other_id`): the other record is merged into this one.
pub async fn merge<T: PageKind + Mergeable>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let keep = super::parse_id(&id)?;
    let values = Values::parse(&body);
    let other = values.get("other_id").trim().parse::<RecordId>();
    let merged = match other {
        Ok(other) => state.app.records().merge::<T>(&session.scope, keep, other, &client).await,
        Err(_) => Err(AppError::field(ErrorCode::InvalidFormat, "other_id")),
    };
    merged.map_err(|e| HtmlError::while_doing("merge the records", e))?;
    Ok(Redirect::to(&format!("{}?notice=records-merged", path(T::KIND, &keep))).into_response())
}
