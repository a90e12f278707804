//! `/api/v1/{resource}/{id}/files` and `/api/v1/files/{id}`: attach a file (multipart, one
//! part named `file`, streamed into the intake pipeline), list a record's files, get a
//! short-lived download link, delete.

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::files::{Attachable, FileRow};
use crate::domain::ids::RecordId;
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{ApiScope, Client};

/// A file as the API shows it (and the OpenAPI document describes it).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = File)]
pub struct FileView {
    id: String,
    /// The name it was uploaded under, without any path.
    name: String,
    /// The type its content was recognised as.
    content_type: String,
    size: u64,
    /// `clean` (scanned by ClamAV) or `not_scanned` (no scanner configured).
    scan: String,
    uploaded_by: String,
    created_at: String,
}

pub(crate) fn view(row: &FileRow) -> FileView {
    FileView {
        id: row.id.to_string(),
        name: row.name.clone(),
        content_type: row.content_type.clone(),
        size: row.size,
        scan: row.scan.as_str().to_owned(),
        uploaded_by: row.uploaded_by.to_string(),
        created_at: crate::domain::timestamps::format_utc(row.created_at),
    }
}

/// A file list (`{"items": […]}`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FileList)]
pub struct FileList {
    items: Vec<FileView>,
}

/// A short-lived download link.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FileLink)]
pub struct LinkView {
    /// Path and query to fetch with the same token, within five minutes.
    url: String,
    expires_at: String,
}

fn parse_id(id: &str) -> Result<RecordId, ApiError> {
    id.parse().map_err(|_| ApiError::from(ErrorCode::NotFound))
}

/// `POST /api/v1/{resource}/{id}/files`
pub async fn upload<T: Attachable>(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Client(client): Client,
    Path(id): Path<String>,
    form: Multipart,
) -> Result<Response, ApiError> {
    let row = crate::web::upload::attach_file::<T>(&state.app, &scope, parse_id(&id)?, &client, form).await?;
    Ok((StatusCode::CREATED, Json(view(&row))).into_response())
}

/// `GET /api/v1/{resource}/{id}/files`
pub async fn list<T: Attachable>(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<String>,
) -> Result<Json<FileList>, ApiError> {
    let rows = state.app.files().list::<T>(&scope, parse_id(&id)?).await?;
    Ok(Json(FileList { items: rows.iter().map(view).collect() }))
}

/// `GET /api/v1/files/{id}/link`
pub async fn link(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, ApiError> {
    let link = state.app.files().link(&scope, parse_id(&id)?).await?;
    Ok(Json(LinkView { url: link.url, expires_at: crate::domain::timestamps::format_utc(link.expires_at) }))
}

/// `DELETE /api/v1/files/{id}`
pub async fn delete(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.files().delete(&scope, parse_id(&id)?, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
