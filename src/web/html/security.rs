//! `/settings/security`: the session and password policy, rate limits, what files may be
//! uploaded, and the alert webhook (admins), applied without a restart.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::filters;
use super::forms::{FormError, NoticeQuery, notice};
use super::layout::Layout;
use crate::app::audit::SecurityEvent;
use crate::app::auth::permissions::Action;
use crate::app::files::FileType;
use crate::app::policy::SecurityPolicy;
use crate::app::rate_limit::RateLimitPolicy;
use crate::domain::role::Role;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{AppForm, Authenticated, Client, ClientIp, Page};

#[derive(Template, WebTemplate)]
#[template(path = "settings_security.html")]
pub struct SecurityPage {
    layout: Layout,
    webhook_url: String,
    policy: SecurityPolicy,
    limits: RateLimitPolicy,
    alerts: Vec<SecurityEvent>,
    roles: [Role; 6],
    client_ip: String,
    notice: Option<&'static str>,
    error: Option<FormError>,
    files: FilesSettings,
}

/// The files part of the page: what may be uploaded, and whether it is scanned.
struct FilesSettings {
    types: [FileType; 14],
    /// Where clamd listens, when a scanner is configured.
    scanner: Option<String>,
    /// This workspace's files, in bytes.
    used: u64,
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    client_ip: ClientIp,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    session
        .scope
        .require(Action::ManageSettings)
        .and_then(|()| session.scope.require_server_operator())
        .map_err(|e| HtmlError::while_doing("open security settings", e))?;
    render(&state, &page, &session, client_ip, notice(&query.notice), None).await
}

/// The page, with an optional notice or form error.
async fn render(
    state: &AppState,
    page: &Page,
    session: &crate::app::auth::AuthSession,
    client_ip: ClientIp,
    notice: Option<&'static str>,
    error: Option<FormError>,
) -> Result<Response, HtmlError> {
    let status = super::forms::form_status(error.is_some());
    let view = SecurityPage {
        layout: Layout::new("Security", page),
        webhook_url: state.app.webhooks().settings().webhook_url,
        policy: state.app.security_policy(),
        limits: state.app.rate_limit_policy(),
        alerts: state.app.audit().security_alerts(&session.scope).await?,
        roles: Role::ALL,
        client_ip: client_ip.0.to_string(),
        notice,
        error,
        files: FilesSettings {
            types: FileType::ALL,
            scanner: state.app.files().scanner().map(|s| s.address().to_string()),
            used: state.app.files().usage(&session.scope).await?.0,
        },
    };
    Ok((status, view).into_response())
}

/// After a save: back to the page with `notice`, the error layer for refusals (E1005, E1008),
/// or the page again with the form error.
async fn after_save(
    state: &AppState,
    page: &Page,
    session: &crate::app::auth::AuthSession,
    client_ip: ClientIp,
    result: Result<(), crate::error::AppError>,
    action: &'static str,
    notice: &str,
) -> Result<Response, HtmlError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/settings/security?notice={notice}")).into_response()),
        Err(e) if super::forms::is_refusal(&e) => Err(HtmlError::while_doing(action, e)),
        Err(e) => render(state, page, session, client_ip, None, Some(FormError::new(action, &e))).await,
    }
}

/// A whole number from a form field (E2004 naming the field otherwise).
fn number(value: &str, field: &'static str) -> Result<u32, crate::error::AppError> {
    value.trim().parse().map_err(|_| crate::error::AppError::field(crate::error::ErrorCode::InvalidFormat, field))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyForm {
    session_idle_minutes: String,
    session_absolute_hours: String,
    password_min_length: String,
    /// Absent (an older form): unchanged.
    #[serde(default)]
    password_history: String,
    #[serde(default)]
    mfa_owner: Option<String>,
    #[serde(default)]
    mfa_admin: Option<String>,
    #[serde(default)]
    mfa_manager: Option<String>,
    #[serde(default)]
    mfa_staff: Option<String>,
    #[serde(default)]
    mfa_viewonly: Option<String>,
    #[serde(default)]
    mfa_client: Option<String>,
    #[serde(default)]
    api_allowed_origins: String,
}

impl PolicyForm {
    /// The roles whose checkbox was ticked.
    fn mfa_roles(&self) -> Vec<Role> {
        let ticked = [
            (Role::Owner, &self.mfa_owner),
            (Role::Admin, &self.mfa_admin),
            (Role::Manager, &self.mfa_manager),
            (Role::Staff, &self.mfa_staff),
            (Role::ViewOnly, &self.mfa_viewonly),
            (Role::Client, &self.mfa_client),
        ];
        ticked.into_iter().filter(|(_, v)| v.is_some()).map(|(role, _)| role).collect()
    }
}

pub async fn save(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    client_ip: ClientIp,
    AppForm(form): AppForm<PolicyForm>,
) -> Result<Response, HtmlError> {
    let parsed = (|| {
        Ok(SecurityPolicy {
            session_idle_minutes: number(&form.session_idle_minutes, "session_idle_minutes")?,
            session_absolute_hours: number(&form.session_absolute_hours, "session_absolute_hours")?,
            password_min_length: number(&form.password_min_length, "password_min_length")?,
            password_history: match form.password_history.trim() {
                "" => state.app.security_policy().password_history,
                given => number(given, "password_history")?,
            },
            mfa_required_roles: form.mfa_roles(),
            api_allowed_origins: form
                .api_allowed_origins
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            ..state.app.security_policy()
        })
    })();
    let saved = save_policy(&state, &session, &client, parsed).await;
    after_save(&state, &page, &session, client_ip, saved, "change security settings", "policy-saved").await
}

/// Saves a policy read from a form (or passes on why it could not be read).
async fn save_policy(
    state: &AppState,
    session: &crate::app::auth::AuthSession,
    client: &crate::app::auth::ClientInfo,
    parsed: Result<SecurityPolicy, crate::error::AppError>,
) -> Result<(), crate::error::AppError> {
    state.app.settings().save_security_policy(Some(&session.scope), parsed?, client).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsForm {
    #[serde(default)]
    enabled: Option<String>,
    unauthenticated_per_minute: String,
    unauthenticated_burst: String,
    authenticated_per_minute: String,
    authenticated_burst: String,
    authenticated_per_hour: String,
    sign_in_failures_per_hour: String,
    admin_changes_per_hour: String,
    uploads_per_hour: String,
    exports_per_hour: String,
}

impl LimitsForm {
    fn policy(&self) -> Result<RateLimitPolicy, crate::error::AppError> {
        Ok(RateLimitPolicy {
            enabled: self.enabled.is_some(),
            unauthenticated_per_minute: number(&self.unauthenticated_per_minute, "unauthenticated_per_minute")?,
            unauthenticated_burst: number(&self.unauthenticated_burst, "unauthenticated_burst")?,
            authenticated_per_minute: number(&self.authenticated_per_minute, "authenticated_per_minute")?,
            authenticated_burst: number(&self.authenticated_burst, "authenticated_burst")?,
            authenticated_per_hour: number(&self.authenticated_per_hour, "authenticated_per_hour")?,
            sign_in_failures_per_hour: number(&self.sign_in_failures_per_hour, "sign_in_failures_per_hour")?,
            admin_changes_per_hour: number(&self.admin_changes_per_hour, "admin_changes_per_hour")?,
            uploads_per_hour: number(&self.uploads_per_hour, "uploads_per_hour")?,
            exports_per_hour: number(&self.exports_per_hour, "exports_per_hour")?,
        })
    }
}

pub async fn save_limits(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    client_ip: ClientIp,
    AppForm(form): AppForm<LimitsForm>,
) -> Result<Response, HtmlError> {
    let result = match form.policy() {
        Ok(policy) => state.app.settings().save_rate_limits(Some(&session.scope), policy, &client).await,
        Err(e) => Err(e),
    };
    after_save(&state, &page, &session, client_ip, result, "save the rate limits", "limits-saved").await
}

/// The files form: the size cap, the quota, and a checkbox `allow_{type}` per file type.
#[derive(Deserialize)]
pub struct FilesForm {
    upload_max_mib: String,
    storage_quota_mib: String,
    #[serde(flatten)]
    ticked: std::collections::HashMap<String, String>,
}

pub async fn save_files(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    client_ip: ClientIp,
    AppForm(form): AppForm<FilesForm>,
) -> Result<Response, HtmlError> {
    let parsed = (|| {
        Ok(SecurityPolicy {
            upload_max_mib: number(&form.upload_max_mib, "upload_max_mib")?,
            storage_quota_mib: number(&form.storage_quota_mib, "storage_quota_mib")?,
            allowed_file_types: FileType::ALL
                .into_iter()
                .filter(|t| form.ticked.contains_key(&format!("allow_{}", t.as_str())))
                .collect(),
            ..state.app.security_policy()
        })
    })();
    let saved = save_policy(&state, &session, &client, parsed).await;
    after_save(&state, &page, &session, client_ip, saved, "save the file settings", "files-saved").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsForm {
    webhook_url: String,
    secret: secrecy::SecretString,
}

pub async fn save_alerts(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    client_ip: ClientIp,
    AppForm(form): AppForm<AlertsForm>,
) -> Result<Response, HtmlError> {
    let result = state.app.webhooks().save_settings(&session.scope, &form.webhook_url, &form.secret, &client).await;
    after_save(&state, &page, &session, client_ip, result, "save the alert webhook", "alerts-saved").await
}
