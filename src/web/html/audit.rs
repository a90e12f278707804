//! `/settings/audit`: the workspace's audit log with filters, CSV export and a chain check.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::filters;
use super::layout::Layout;
use crate::app::audit_viewer::{AuditFilter, AuditView};
use crate::app::auth::AuthSession;
use crate::app::auth::permissions::Action;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client, Page};

/// Entries on one page.
const PAGE_ENTRIES: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct FilterQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl FilterQuery {
    /// Dates are `YYYY-MM-DD` (UTC); `to` includes the whole day.
    fn filter(&self) -> Result<AuditFilter, AppError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let day = |text: &str, field: &'static str| -> Result<Option<i64>, AppError> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            let date = time::Date::parse(text.trim(), &format)
                .map_err(|_| AppError::field(ErrorCode::InvalidFormat, field))?;
            Ok(Some(date.midnight().assume_utc().unix_timestamp()))
        };
        let bounded = |text: &str| text.chars().take(200).collect::<String>();
        Ok(AuditFilter {
            actor: bounded(&self.actor),
            event: bounded(&self.event),
            target: bounded(&self.target),
            from: day(&self.from, "from")?,
            to: day(&self.to, "to")?.map(|start| start + 86_399),
        })
    }

    fn query_string(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("actor", &self.actor)
            .append_pair("event", &self.event)
            .append_pair("target", &self.target)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to)
            .finish()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_audit.html")]
pub struct AuditPage {
    layout: Layout,
    query: FilterQuery,
    export_query: String,
    entries: Vec<AuditView>,
    check: Option<String>,
}

fn require_admin(session: &AuthSession) -> Result<(), HtmlError> {
    session.scope.require(Action::ManageSettings).map_err(|e| HtmlError::while_doing("open the audit log", e))
}

async fn render(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    query: FilterQuery,
    check: Option<String>,
) -> Result<AuditPage, HtmlError> {
    let filter = query.filter().map_err(|e| HtmlError::while_doing("filter the audit log", e))?;
    let entries = state.app.audit().entries(&session.scope, &filter, PAGE_ENTRIES).await?;
    Ok(AuditPage { layout: Layout::new("Audit log", page), export_query: query.query_string(), query, entries, check })
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Query(query): Query<FilterQuery>,
) -> Result<AuditPage, HtmlError> {
    require_admin(&session)?;
    render(&state, &page, &session, query, None).await
}

pub async fn export(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Query(query): Query<FilterQuery>,
) -> Result<Response, HtmlError> {
    let refuse = |e| HtmlError::while_doing("export the audit log", e);
    let filter = query.filter().map_err(refuse)?;
    let csv = state.app.audit().export_csv(&session.scope, &filter, &client).await.map_err(refuse)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"holdfast-audit.csv\"")),
        ],
        csv,
    )
        .into_response())
}

/// Checks every chain and reports this workspace's result on the page.
pub async fn verify(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
) -> Result<AuditPage, HtmlError> {
    require_admin(&session)?;
    let report = state.app.audit().verify().await?;
    let mine: Vec<_> = report.problems.iter().filter(|p| p.workspace == *session.scope.workspace()).collect();
    let check = match mine.first() {
        None => format!("The audit log is intact ({} entries checked).", report.entries),
        Some(problem) => format!("The audit log was tampered with: entry {} — {}.", problem.seq, problem.reason),
    };
    render(&state, &page, &session, FilterQuery::default(), Some(check)).await
}
