//! The one-time setup token that lets the first person create the first workspace and owner.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::app::error::{AppError, ErrorCode};
use crate::datadir::write_private_file;

/// Returns the token in `setup-token`, writing a fresh one (mode 0600) if there is none, so a
/// restart before setup keeps the URL already shown valid.
pub(crate) fn ensure_token(path: &Path) -> Result<String, AppError> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() == 43 && existing.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Ok(existing.to_owned());
        }
    }
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    write_private_file(path, token.as_bytes()).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
    Ok(token)
}
