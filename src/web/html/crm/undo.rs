//! Deleting a note or task with an undo: `POST /notes/{id}/delete` and `/tasks/{id}/delete`
//! go back to the record it was about, whose flash offers "Undo" while its deleter may still
//! put it back (`POST /notes/{id}/restore`, `/tasks/{id}/restore`).

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

/// Deletes the note or task and goes back to the record it was about (a task about nothing:
/// to my tasks), with the notice and, when offered, the undo.
pub async fn delete<T: Undoable + FormKind>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let (action, notice, section) = match T::KIND {
        Kind::Note => ("delete the note", "note-deleted", "notes"),
        _ => ("delete the task", "task-deleted", "tasks"),
    };
    let id = super::parse_id(&id)?;
    let deleted = state.app.records().delete_undoable::<T>(&session.scope, id, &client).await;
    let (record, undoable) = deleted.map_err(|e| HtmlError::while_doing(action, e))?;
    // Back to the record it was about; a task about nothing was its own page: my tasks then.
    let about = Some(record.saved_path()).filter(|path| *path != super::kinds::path(T::KIND, &id));
    let mut back = with_notice(about.as_deref().unwrap_or("/tasks"), notice);
    if undoable {
        back.push_str(&format!("&undo={}", token(T::KIND, &id)));
    }
    Ok(Redirect::to(&format!("{back}#{section}")).into_response())
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
