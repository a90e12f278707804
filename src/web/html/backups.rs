//! `/settings/backups`: passphrase, schedule and retention, "Back up now", the list of backups
//! with downloads (step-up, audited, counted against the export budget), and the status.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::filters;
use super::forms::{FormError, NoticeQuery, is_refusal, notice};
use super::layout::Layout;
use crate::app::audit::{AuditEvent, record_now};
use crate::app::auth::AuthSession;
use crate::app::auth::permissions::Action;
use crate::app::backup::offsite::{OffsiteInput, ShipState};
use crate::app::backup::schedule::{
    BackupFile, BackupSettings, BackupSettingsInput, BackupStatus, STALE_AFTER_SECONDS,
};
use crate::app::rate_limit::Budget;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{AppForm, Authenticated, Client, Page};

#[derive(Template, WebTemplate)]
#[template(path = "settings_backups.html")]
pub struct BackupsPage {
    layout: Layout,
    settings: BackupSettings,
    status: BackupStatus,
    files: Vec<BackupFile>,
    /// The change shipper's state, once a base started a generation.
    shipping: Option<ShipState>,
    stale: bool,
    notice: Option<&'static str>,
    error: Option<FormError>,
}

fn require_admin(session: &AuthSession) -> Result<(), HtmlError> {
    session
        .scope
        .require(Action::ManageSettings)
        .and_then(|()| session.scope.require_server_operator())
        .map_err(|e| HtmlError::while_doing("open backup settings", e))
}

async fn render(
    state: &AppState,
    page: &Page,
    notice: Option<&'static str>,
    error: Option<FormError>,
) -> Result<Response, HtmlError> {
    let status = state.app.backups().status().await?;
    let stale = status.last_success_at.is_none_or(|t| state.app.now() - t > STALE_AFTER_SECONDS);
    let code = super::forms::form_status(error.is_some());
    let view = BackupsPage {
        layout: Layout::new("Backups", page),
        settings: state.app.backups().settings().await?,
        status,
        files: state.app.backups().list().await?,
        shipping: state.app.backups().ship_state().await?.filter(|s| s.generation > 0),
        stale,
        notice,
        error,
    };
    Ok((code, view).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    require_admin(&session)?;
    render(&state, &page, notice(&query.notice), None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsForm {
    passphrase: secrecy::SecretString,
    #[serde(default = "empty_secret")]
    passphrase_confirm: secrecy::SecretString,
    hour: String,
    keep_daily: String,
    keep_weekly: String,
    keep_monthly: String,
    second_dir: String,
}

fn empty_secret() -> secrecy::SecretString {
    secrecy::SecretString::from(String::new())
}

pub async fn save(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    AppForm(form): AppForm<SettingsForm>,
) -> Result<Response, HtmlError> {
    use secrecy::ExposeSecret;
    // The passphrase can't be recovered from anywhere: typing it twice catches a slip before
    // every backup depends on it.
    if form.passphrase.expose_secret() != form.passphrase_confirm.expose_secret() {
        let error = AppError::field(ErrorCode::InvalidFormat, "passphrase_confirm")
            .with_hint("The passphrase and its confirmation differ. Type the same passphrase twice.");
        let error = FormError::new("save the backup settings", &error);
        return render(&state, &page, None, Some(error)).await;
    }
    let input = BackupSettingsInput {
        passphrase: form.passphrase,
        hour: form.hour,
        keep_daily: form.keep_daily,
        keep_weekly: form.keep_weekly,
        keep_monthly: form.keep_monthly,
        second_dir: form.second_dir,
    };
    match state.app.backups().save_settings(&session.scope, input, &client).await {
        Ok(()) => Ok(Redirect::to("/settings/backups?notice=backups-saved").into_response()),
        Err(e) if is_refusal(&e) => Err(HtmlError::while_doing("change backup settings", e)),
        Err(e) => render(&state, &page, None, Some(FormError::new("save the backup settings", &e))).await,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffsiteForm {
    endpoint: String,
    region: String,
    bucket: String,
    prefix: String,
    access_key_id: String,
    #[serde(default = "empty_secret")]
    secret_access_key: secrecy::SecretString,
    /// A checkbox: present when ticked.
    #[serde(default)]
    path_style: Option<String>,
    base_interval_m: String,
    ship_interval_s: String,
    keep_hourly: String,
}

impl From<OffsiteForm> for OffsiteInput {
    fn from(form: OffsiteForm) -> OffsiteInput {
        OffsiteInput {
            endpoint: form.endpoint,
            region: form.region,
            bucket: form.bucket,
            prefix: form.prefix,
            access_key_id: form.access_key_id,
            secret_access_key: form.secret_access_key,
            path_style: form.path_style.is_some(),
            base_interval_m: form.base_interval_m,
            ship_interval_s: form.ship_interval_s,
            keep_hourly: form.keep_hourly,
        }
    }
}

pub async fn save_offsite(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    AppForm(form): AppForm<OffsiteForm>,
) -> Result<Response, HtmlError> {
    match state.app.backups().save_offsite(&session.scope, form.into(), &client).await {
        Ok(()) => Ok(Redirect::to("/settings/backups?notice=offsite-saved#offsite").into_response()),
        Err(e) if is_refusal(&e) => Err(HtmlError::while_doing("change backup settings", e)),
        Err(e) => render(&state, &page, None, Some(FormError::new("save the off-site target", &e))).await,
    }
}

/// "Test connection": writes, reads back and deletes a small object with the form's values
/// (nothing is saved).
pub async fn test_offsite(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    AppForm(form): AppForm<OffsiteForm>,
) -> Result<Response, HtmlError> {
    match state.app.backups().test_offsite_input(&session.scope, form.into()).await {
        Ok(_) => {
            render(&state, &page, Some("The bucket answered: a test object was written, read back and deleted."), None)
                .await
        }
        Err(e) if is_refusal(&e) => Err(HtmlError::while_doing("test the off-site target", e)),
        Err(e) => render(&state, &page, None, Some(FormError::new("reach the bucket", &e))).await,
    }
}

pub async fn run_now(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
) -> Result<Response, HtmlError> {
    require_admin(&session)?;
    match state.app.backups().back_up_now(Some(&session.scope)).await {
        Ok(_) => Ok(Redirect::to("/settings/backups?notice=backup-done").into_response()),
        Err(e) => render(&state, &page, None, Some(FormError::new("back up", &e))).await,
    }
}

/// Sends a backup file (a POST: it spends the export budget and is audited, so no link may
/// trigger it): server operators with a fresh second factor; streamed, not read into memory.
pub async fn download(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(name): Path<String>,
) -> Result<Response, HtmlError> {
    let refuse = |e| HtmlError::while_doing("download the backup", e);
    session
        .scope
        .require(Action::ManageSettings)
        .and_then(|()| session.scope.require_server_operator())
        .map_err(refuse)?;
    session.scope.require_recent_second_factor(state.app.now()).map_err(refuse)?;
    state.app.limiters().take(Budget::Export, *session.scope.user()).map_err(refuse)?;
    let path = state.app.backups().path(&name).ok_or_else(|| refuse(ErrorCode::NotFound.into()))?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| refuse(crate::error::AppError::internal(ErrorCode::StorageUnavailable, e)))?;
    let event = AuditEvent::new("backup.downloaded", Some(*session.scope.user())).target(&name).from_client(&client);
    record_now(&state.app, &session.scope, event).await?;
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response())
}
