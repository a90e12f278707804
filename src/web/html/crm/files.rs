//! A record's files on its page: the list (name, type, size, uploader, time, scan state) with
//! image previews, the attach form, opening a file through a fresh signed link, and deletion.
//! The attach form's hidden token comes before the file, so the CSRF layer checks it before
//! any of the file is taken.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::kinds::{Names, PageKind, path};
use super::record::{Shown, render};
use crate::app::auth::TenantScope;
use crate::app::auth::permissions::Action;
use crate::app::files::{Attachable, FileRow, FileType, ScanState};
use crate::domain::crm::{Company, Contact, Deal, Kind};
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client, Page};
use crate::web::html::forms::{FormError, is_refusal};

/// A stored file as its record page lists it.
pub struct FileView {
    pub id: RecordId,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub uploader: String,
    pub at: i64,
    pub scan: &'static str,
    /// Shown as a preview (images only: they are served inline).
    pub image: bool,
}

/// The files section of a record page.
pub struct FilesSection {
    pub items: Vec<FileView>,
    /// The caller may attach and delete here.
    pub can_change: bool,
    /// The `accept` list of the file input: the allowed types, as a hint to the picker only
    /// (the server decides by content).
    pub accept: String,
    pub max_mib: u32,
    /// A scanner checks uploads; when not, the page says so.
    pub scanned: bool,
    /// Storage used by the workspace's files, and its quota.
    pub used: u64,
    pub quota: u64,
    pub error: Option<FormError>,
}

/// The files section of a record of kind `kind`, or `None` for kinds that take no files.
pub async fn section(
    state: &AppState,
    scope: &TenantScope,
    kind: Kind,
    id: RecordId,
    can_edit: bool,
    names: &Names,
) -> Result<Option<FilesSection>, AppError> {
    let rows = match kind {
        Kind::Contact => state.app.files().list::<Contact>(scope, id).await?,
        Kind::Company => state.app.files().list::<Company>(scope, id).await?,
        Kind::Deal => state.app.files().list::<Deal>(scope, id).await?,
        // Notes keep their files through the API; tasks take none.
        Kind::Note | Kind::Task => return Ok(None),
    };
    let policy = state.app.security_policy();
    let (used, quota) = state.app.files().usage(scope).await?;
    Ok(Some(FilesSection {
        items: rows.iter().map(|row| view(row, names)).collect(),
        can_change: can_edit && scope.can(Action::CreateRecords),
        accept: policy.allowed_file_types.iter().map(|t| t.mime()).collect::<Vec<_>>().join(","),
        max_mib: policy.upload_max_mib,
        scanned: state.app.files().scanner().is_some(),
        used,
        quota,
        error: None,
    }))
}

/// A stored file as a page shows it.
pub fn view(row: &FileRow, names: &Names) -> FileView {
    FileView {
        id: row.id,
        name: row.name.clone(),
        content_type: row.content_type.clone(),
        size: row.size,
        uploader: names.person(&row.uploaded_by),
        at: row.created_at,
        scan: match row.scan {
            ScanState::Clean => "scanned, clean",
            ScanState::NotScanned => "not scanned",
        },
        image: FileType::of_mime(&row.content_type).is_some_and(FileType::is_image),
    }
}

/// `POST /{plural}/{id}/files` (multipart: `csrf_token` first, then `file`): attaches the
/// file and returns to the record; a refused file is shown on the record page.
pub async fn attach<T: Attachable + PageKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    form: Multipart,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    match crate::web::upload::attach_file::<T>(&state.app, &session.scope, id, &client, form).await {
        Ok(_) => Ok(Redirect::to(&format!("{}?notice=file-attached#files", path(T::KIND, &id))).into_response()),
        Err(e) if is_refusal(&e) || matches!(e.code(), ErrorCode::NotFound | ErrorCode::TooManyRequests) => {
            Err(HtmlError::while_doing("attach the file", e))
        }
        Err(e) => {
            let shown = Shown { file_error: Some(FormError::new("attach the file", &e)), ..Shown::default() };
            render::<T>(&state, &page, &session, id, None, shown).await
        }
    }
}

/// `GET /files/{id}`: the file, through a link signed now for the signed-in user (pages link
/// here, so a page left open never holds an expired link).
pub async fn open(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let link = state
        .app
        .files()
        .link(&session.scope, super::parse_id(&id)?)
        .await
        .map_err(|e| HtmlError::while_doing("open the file", e))?;
    Ok(Redirect::to(&link.url).into_response())
}

/// `POST /files/{id}/delete`: deletes the file and returns to its record.
pub async fn delete(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let row = state
        .app
        .files()
        .delete(&session.scope, super::parse_id(&id)?, &client)
        .await
        .map_err(|e| HtmlError::while_doing("delete the file", e))?;
    Ok(Redirect::to(&format!("{}?notice=file-deleted#files", path(row.kind, &row.record))).into_response())
}
