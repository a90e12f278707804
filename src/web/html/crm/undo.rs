//! "Undo" after a note or task was deleted: the flash's button (offered while its deleter may
//! still put it back) and `POST /notes/{id}/restore`, `POST /tasks/{id}/restore`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::kinds::FormKind;
use crate::app::auth::TenantScope;
use crate::app::crm::undo::Undoable;
use crate::domain::crm::Kind;
use crate::domain::ids::RecordId;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client};
use crate::web::html::forms::with_notice;

/// The query value naming what was just deleted (`undo=notes/{id}`).
pub fn token(kind: Kind, id: &RecordId) -> String {
    format!("{}/{id}", kind.plural())
}

/// Where to go after deleting record `id` of `kind`: `back` with the notice, and the undo
/// when one is offered.
pub fn after_delete(back: &str, notice: &str, kind: Kind, id: &RecordId, undoable: bool) -> String {
    let path = with_notice(back, notice);
    if undoable { format!("{path}&undo={}", token(kind, id)) } else { path }
}

/// The flash's Undo form's action, when `undo` (from the query) names a note or task this
/// user may still put back.
pub fn offer(state: &AppState, scope: &TenantScope, undo: &str) -> Option<String> {
    let (kind, id) = undo.split_once('/')?;
    if !matches!(kind, "notes" | "tasks") {
        return None;
    }
    let id: RecordId = id.parse().ok()?;
    state.app.records().can_undo(scope, id).then(|| format!("/{kind}/{id}/restore"))
}

/// Puts the record back and shows it where it was.
pub async fn restore<T: Undoable + FormKind>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    let (action, notice) = match T::KIND {
        Kind::Note => ("undo deleting the note", "note-restored"),
        _ => ("undo deleting the task", "task-restored"),
    };
    let restored = state.app.records().undo_delete::<T>(&session.scope, id, &client).await;
    let record = restored.map_err(|e| HtmlError::while_doing(action, e))?;
    Ok(Redirect::to(&with_notice(&record.saved_path(), notice)).into_response())
}
