//! Restoring a fresh install from its off-site copies, from the setup page: the form (on the
//! setup page, behind the setup link's token) and the page that follows the restore until the
//! server restarts on the restored data.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::auth::{SetupPage, TokenQuery, setup_gate, setup_refusal};
use super::filters;
use super::forms::{FormError, keep_secret_out_of_referer};
use super::layout::Layout;
use crate::app::auth::setup::SetupState;
use crate::app::backup::offsite::{SetupRestore, SetupRestoreInput};
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::extract::{AppForm, Client, Page};

/// The restore form's fields as typed (never the secrets).
#[derive(Debug, Default)]
pub struct RestoreFields {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub access_key_id: String,
    pub path_style: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreForm {
    token: String,
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    region: String,
    bucket: String,
    #[serde(default)]
    prefix: String,
    access_key_id: String,
    secret_access_key: SecretString,
    path_style: Option<String>,
    passphrase: SecretString,
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_restore.html")]
struct ProgressPage {
    layout: Layout,
    from: String,
    /// The restored data's moment, once swapped in.
    point: Option<i64>,
}

/// Checks the bucket and starts the restore; the form again with the reason if it can't.
pub async fn start(
    State(state): State<AppState>,
    page: Page,
    Client(client): Client,
    AppForm(form): AppForm<RestoreForm>,
) -> Response {
    if let Err(refused) = setup_gate(&state, &form.token, &client).await {
        return refused;
    }
    let fields = RestoreFields {
        endpoint: form.endpoint.clone(),
        region: form.region.clone(),
        bucket: form.bucket.clone(),
        prefix: form.prefix.clone(),
        access_key_id: form.access_key_id.clone(),
        path_style: form.path_style.is_some(),
    };
    let input = SetupRestoreInput {
        endpoint: form.endpoint,
        region: form.region,
        bucket: form.bucket,
        prefix: form.prefix,
        access_key_id: form.access_key_id,
        secret_access_key: form.secret_access_key,
        path_style: fields.path_style,
        passphrase: form.passphrase,
    };
    match state.app.backups().start_setup_restore(input).await {
        Ok(()) => Redirect::to(&with_token("/setup/restore", &form.token)).into_response(),
        Err(error) => {
            let page = SetupPage {
                restore: fields,
                restore_error: Some(FormError::new("restore from the off-site copies", &error)),
                ..SetupPage::blank(&state, &page, form.token)
            };
            keep_secret_out_of_referer((crate::web::error::status_for(error.code()), page).into_response())
        }
    }
}

/// `path?token=…` (the token as typed into a query string).
fn with_token(path: &str, token: &str) -> String {
    format!("{path}?token={}", url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>())
}

/// Follows the restore: refreshes itself while it runs, sends the browser to the sign-in
/// page once the server restarted on the restored data, or shows the form again on failure.
pub async fn progress(
    State(state): State<AppState>,
    page: Page,
    Client(client): Client,
    Query(query): Query<TokenQuery>,
) -> Response {
    let setup = state.app.setup().state(&query.token, &client).await;
    // Already restarted on the restored data (setup is over there): on to signing in.
    if matches!(setup, Ok(SetupState::Done)) && state.app.backups().setup_restore() == SetupRestore::NotStarted {
        return Redirect::to("/login?notice=restored").into_response();
    }
    if let Some(refused) = setup_refusal(setup) {
        return refused;
    }
    let (from, point, refresh) = match state.app.backups().setup_restore() {
        SetupRestore::NotStarted => return Redirect::to(&with_token("/setup", &query.token)).into_response(),
        SetupRestore::Running { from } => (from, None, "2".to_owned()),
        // The server restarts in a moment: then the sign-in page answers.
        SetupRestore::Done { from, point } => (from, Some(point), "4;url=/login?notice=restored".to_owned()),
        SetupRestore::Failed { from, error } => {
            let failed = SetupPage {
                restore_error: Some(FormError {
                    heading: format!("Unable to restore from {from} ({})", ErrorCode::StorageUnavailable),
                    detail: error.into(),
                    field: "bucket",
                }),
                ..SetupPage::blank(&state, &page, query.token)
            };
            return keep_secret_out_of_referer((StatusCode::UNPROCESSABLE_ENTITY, failed).into_response());
        }
    };
    let mut response = ProgressPage { layout: Layout::new("Restoring Holdfast", &page), from, point }.into_response();
    if let Ok(value) = HeaderValue::from_str(&refresh) {
        response.headers_mut().insert("refresh", value);
    }
    keep_secret_out_of_referer(response)
}
