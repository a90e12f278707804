//! Form feedback: the coded error shown above a form (with the field marked), and the fixed
//! notices shown after a redirect (never user-supplied text).

use crate::error::AppError;

/// "Unable to change password (E2007)" plus what went wrong, and which field.
#[derive(Debug, Clone)]
pub struct FormError {
    pub heading: String,
    pub detail: std::borrow::Cow<'static, str>,
    pub field: &'static str,
}

impl FormError {
    pub fn new(action: &str, error: &AppError) -> Self {
        match error.detail() {
            Some(detail) => tracing::warn!(code = %error.code(), field = error.field_name(), detail, "form refused"),
            None => tracing::info!(code = %error.code(), field = error.field_name(), "form refused"),
        }
        Self {
            heading: format!("Unable to {action} ({})", error.code()),
            detail: match error.hint() {
                Some(hint) => hint.to_owned().into(),
                None => error.code().message().into(),
            },
            field: error.field_name().unwrap_or(""),
        }
    }

    /// Whether `field` is the one in error (for `aria-invalid`).
    pub fn is(&self, field: &str) -> bool {
        self.field == field
    }
}

/// The status of a page that shows a form: 422 when it is shown again with an error.
pub fn form_status(has_error: bool) -> axum::http::StatusCode {
    if has_error { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK }
}

/// Errors that are not about the form's values — not allowed for the role (E1005), or a
/// fresh second factor is needed (E1008) — go to the error layer instead of re-rendering.
pub fn is_refusal(error: &AppError) -> bool {
    use crate::error::ErrorCode;
    matches!(error.code(), ErrorCode::Forbidden | ErrorCode::StepUpRequired)
}

/// Messages shown after a successful post-redirect-get, chosen by a fixed key.
pub fn notice(key: &str) -> Option<&'static str> {
    Some(match key {
        "signed-out" => "You are signed out.",
        "restored" => "Holdfast was restored from its off-site copies. Sign in with your usual account.",
        "tag-coloured" => "The tag colour was saved.",
        "bulk-done" => "The selected records were changed.",
        "view-deleted" => "The saved view was deleted.",
        "password-changed" => "Your password was changed. Your other sessions were signed out.",
        "password-changed-tokens-revoked" => {
            "Your password was changed. Your other sessions were signed out and your API tokens revoked."
        }
        "password-set" => "Your password is set. Sign in with it now.",
        "session-revoked" => "The session was signed out.",
        "token-revoked" => "The API token was revoked.",
        "role-changed" => "The role was changed. That user's sessions were signed out.",
        "user-disabled" => "The user was disabled and signed out everywhere.",
        "user-enabled" => "The user was enabled.",
        "backups-saved" => "The backup settings were saved.",
        "backup-done" => "The backup was written and verified.",
        "offsite-saved" => "The off-site target was saved.",
        "alerts-saved" => "The alert webhook was saved.",
        "files-saved" => "The file settings were saved and apply to the next upload.",
        "limits-saved" => "The rate limits were saved and apply from the next request.",
        "user-unlocked" => "The user was unlocked and can sign in again.",
        "mfa-disabled" => "Two-step sign-in is off.",
        "mfa-reset" => "Two-step sign-in was reset. That user sets it up again at their next sign-in.",
        "email-saved" => "The email settings were saved.",
        "email-sent" => "A test message was sent to your address. Check your inbox.",
        "record-deleted" => "The record was deleted.",
        "document-acknowledged" => "Thank you: your acknowledgement was recorded.",
        "answer-sent" => "Your answer was sent to the firm.",
        "message-sent" => "Your message was sent.",
        "document-shared" => "The document is shared with the company's clients.",
        "document-unshared" => "The document is no longer shared.",
        "request-created" => "The request was sent to the company's clients.",
        "item-reviewed" => "The item was updated.",
        "client-disabled" => "The client was disabled and signed out.",
        "client-enabled" => "The client can sign in again.",
        "offline-saved" => "The offline setting was saved. Browsers follow it at their next page.",
        "logo-saved" => "The logo was saved. Clients see it on every portal page.",
        "logo-removed" => "The logo was removed.",
        "template-saved" => "The template was saved.",
        "template-deleted" => "The template was deleted.",
        "record-saved" => "Saved.",
        "deal-moved" => "The deal was moved.",
        "records-merged" => "The records were merged into this one.",
        "note-added" => "The note was added.",
        "note-deleted" => "The note was deleted.",
        "note-restored" => "The note is back.",
        "task-deleted" => "The task was deleted.",
        "task-restored" => "The task is back.",
        "file-attached" => "The file was attached.",
        "file-deleted" => "The file was deleted.",
        "task-done" => "Task marked done.",
        "import-reverted" => {
            "The import was reverted. Rows changed since the import were left alone and are listed below."
        }
        "pipeline-saved" => "The pipeline was saved.",
        "rotation-started" => "The key rotation is running. Values are re-encrypted in the background.",
        "contact-erased" => "The contact and everything attached to it were erased. The audit log keeps a receipt.",
        "policy-saved" => "The security policy was saved and applies from now on.",
        "reset-requested" => {
            "If that address belongs to an account, a reset link is on its way (when email is configured). Otherwise, ask your administrator for a reset link."
        }
        _ => return None,
    })
}

/// The page to return to after signing in or confirming (checked with `safe_next` on use).
#[derive(Debug, Default, serde::Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    pub next: String,
}

/// `path` with a notice key added to its query.
pub fn with_notice(path: &str, key: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}notice={key}")
}

/// The query string carrying a notice key.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub notice: String,
    /// What was just deleted and may be put back (`notes/{id}`).
    #[serde(default)]
    pub undo: String,
}

/// For pages whose URL or body carries a secret (setup, invitation and reset links, the
/// authenticator's key): `same-origin` sends no `Referer` to any other site, while the page's
/// own forms still post their real `Origin`. (`no-referrer` would make browsers post
/// `Origin: null`, which the CSRF layer can't tell from a sandboxed foreign page.)
pub fn keep_secret_out_of_referer(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}
