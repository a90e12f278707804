//! Taking a file from a multipart form, the one way the HTML attach form and the API both do
//! it: the part named `file` is streamed chunk by chunk into the intake pipeline.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;

use crate::app::App;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::files::{Attachable, FileRow};
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};

/// A multipart body's failure: past the route's limit is "too large", anything else malformed.
pub(crate) fn unreadable(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::field(ErrorCode::FileTooLarge, "file")
    } else {
        AppError::internal(ErrorCode::InvalidFormat, format!("multipart: {}", error.body_text()))
    }
}

/// Attaches the form's `file` part to the `T` record `record` (E2001 when there is none, or
/// when a browser sent the field with no file chosen).
pub async fn attach_file<T: Attachable>(
    app: &App,
    scope: &TenantScope,
    record: RecordId,
    client: &ClientInfo,
    mut form: Multipart,
) -> Result<FileRow, AppError> {
    while let Some(mut field) = form.next_field().await.map_err(unreadable)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = match field.file_name() {
            Some("") => return Err(AppError::field(ErrorCode::Required, "file")),
            name => name.unwrap_or("file").to_owned(),
        };
        let mut intake = app.files().intake::<T>(scope, record, &name).await?;
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            intake.push(&chunk).await?;
        }
        return intake.commit(client).await;
    }
    Err(AppError::field(ErrorCode::Required, "file"))
}
