//! The firm's side of a company's client portal (`/companies/{id}/portal`): its client users,
//! shared documents, requests and thread; and `/client-activity`, what clients did lately.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::parse_id;
use crate::app::auth::ClientInfo;
use crate::app::portal::{Activity, NewRequest, Review, StaffPortal};
use crate::domain::ids::RecordId;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{AppForm, Authenticated, Client, Page};
use crate::web::html::filters;
use crate::web::html::forms::{FormError, form_status, notice};
use crate::web::html::layout::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "company_portal.html")]
struct PortalPage {
    layout: Layout,
    portal: StaffPortal,
    base: String,
    notice: Option<&'static str>,
    error: Option<FormError>,
    /// A client invitation just made: whom for, and its link (shown once).
    issued: Option<(String, String)>,
    /// The invitation form's name and email, filled in from a contact's page.
    invitee: (String, String),
    today: String,
    templates: Vec<crate::app::portal::RequestTemplate>,
}

/// What a re-rendered page carries besides the portal.
#[derive(Default)]
struct Outcome {
    notice: Option<&'static str>,
    error: Option<FormError>,
    issued: Option<(String, String)>,
    invitee: (String, String),
}

async fn render(
    state: &AppState,
    page: &Page,
    session: &crate::app::auth::AuthSession,
    company: RecordId,
    outcome: Outcome,
) -> Result<Response, HtmlError> {
    let portal = state.app.portal().overview(&session.scope, company).await?;
    let status = form_status(outcome.error.is_some());
    let page = PortalPage {
        layout: Layout::new(format!("{} · client portal", portal.company.name), page),
        base: format!("/companies/{company}/portal"),
        portal,
        notice: outcome.notice,
        error: outcome.error,
        issued: outcome.issued,
        invitee: outcome.invitee,
        today: crate::domain::fields::Day::of_unix(state.app.now()).to_string(),
        templates: state.app.portal().templates(&session.scope).await?,
    };
    Ok((status, page).into_response())
}

/// The page's query: a notice, or an invitation to fill in (from a contact's page).
#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    notice: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, HtmlError> {
    let outcome = Outcome { notice: notice(&query.notice), invitee: (query.name, query.email), ..Outcome::default() };
    render(&state, &page, &session, parse_id(&id)?, outcome).await
}

/// After a change: back to the page with a notice, or the page again with the refusal (a
/// refusal of the whole page — unknown company, wrong role — is its own error page).
async fn settle(
    state: &AppState,
    page: &Page,
    session: &crate::app::auth::AuthSession,
    company: RecordId,
    action: &'static str,
    result: Result<&'static str, AppError>,
) -> Result<Response, HtmlError> {
    match result {
        Ok(key) => Ok(Redirect::to(&format!("/companies/{company}/portal?notice={key}")).into_response()),
        Err(e) if crate::web::html::forms::is_refusal(&e) => Err(HtmlError::while_doing(action, e)),
        Err(e) => {
            let outcome = Outcome { error: Some(FormError::new(action, &e)), ..Outcome::default() };
            render(state, page, session, company, outcome).await
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteForm {
    name: String,
    email: String,
}

#[expect(clippy::too_many_arguments, reason = "an axum handler: one extractor an argument")]
pub async fn invite(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    AppForm(form): AppForm<InviteForm>,
) -> Result<Response, HtmlError> {
    let company = parse_id(&id)?;
    match state.app.portal().invite_client(&session.scope, company, &form.email, &form.name, &client).await {
        Ok(link) => {
            let host = crate::web::extract::request_host(&uri, &headers);
            let url = crate::web::html::password_link(&state, host, &link.path);
            let label = format!("Invitation for {} (valid 72 hours)", form.email.trim());
            render(&state, &page, &session, company, Outcome { issued: Some((label, url)), ..Outcome::default() }).await
        }
        Err(e) => settle(&state, &page, &session, company, "invite the client", Err(e)).await,
    }
}

pub async fn disable_client(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path((id, user)): Path<(String, String)>,
) -> Result<Response, HtmlError> {
    set_disabled(&state, &page, &session, &client, &id, &user, true).await
}

pub async fn enable_client(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path((id, user)): Path<(String, String)>,
) -> Result<Response, HtmlError> {
    set_disabled(&state, &page, &session, &client, &id, &user, false).await
}

async fn set_disabled(
    state: &AppState,
    page: &Page,
    session: &crate::app::auth::AuthSession,
    client: &ClientInfo,
    id: &str,
    user: &str,
    disabled: bool,
) -> Result<Response, HtmlError> {
    let company = parse_id(id)?;
    let user = user.parse().map_err(|_| HtmlError::from(crate::error::ErrorCode::NotFound))?;
    let result = state.app.portal().set_client_disabled(&session.scope, company, user, disabled, client).await;
    let key = if disabled { "client-disabled" } else { "client-enabled" };
    settle(state, page, session, company, "change the client", result.map(|()| key)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareForm {
    file_id: String,
}

pub async fn share(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    AppForm(form): AppForm<ShareForm>,
) -> Result<Response, HtmlError> {
    let company = parse_id(&id)?;
    let result = match form.file_id.parse() {
        Ok(file) => state.app.portal().share(&session.scope, company, file, &client).await,
        Err(_) => Err(AppError::field(crate::error::ErrorCode::Required, "file_id")),
    };
    settle(&state, &page, &session, company, "share the document", result.map(|()| "document-shared")).await
}

pub async fn unshare(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, HtmlError> {
    let company = parse_id(&id)?;
    let result = state.app.portal().unshare(&session.scope, company, parse_id(&file)?, &client).await;
    settle(&state, &page, &session, company, "stop sharing the document", result.map(|()| "document-unshared")).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestForm {
    #[serde(default)]
    title: String,
    due: String,
    /// One item a line.
    #[serde(default)]
    items: String,
    /// A template standing in for an empty title and items ("" for none).
    #[serde(default)]
    template: String,
}

pub async fn create_request(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    AppForm(form): AppForm<RequestForm>,
) -> Result<Response, HtmlError> {
    let company = parse_id(&id)?;
    let template = match form.template.trim() {
        "" => None,
        id => Some(parse_id(id)?),
    };
    let items = form.items.lines().map(str::to_owned).collect();
    let input = NewRequest { title: form.title, due: form.due, items, template };
    let result = state.app.portal().create_request(&session.scope, company, &input, &client).await;
    settle(&state, &page, &session, company, "send the request", result.map(|_| "request-created")).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewForm {
    decision: String,
    #[serde(default)]
    comment: String,
}

pub async fn review(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path((id, request, item)): Path<(String, String, usize)>,
    AppForm(form): AppForm<ReviewForm>,
) -> Result<Response, HtmlError> {
    let company = parse_id(&id)?;
    let review = Review { accept: form.decision == "accept", comment: &form.comment };
    let item = (parse_id(&request)?, item);
    let result = state.app.portal().review_item(&session.scope, company, item, review, &client).await;
    settle(&state, &page, &session, company, "review the answer", result.map(|()| "item-reviewed")).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageForm {
    body: String,
    #[serde(default)]
    internal: Option<String>,
}

pub async fn post_message(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    AppForm(form): AppForm<MessageForm>,
) -> Result<Response, HtmlError> {
    let company = parse_id(&id)?;
    let internal = form.internal.is_some();
    let result = state.app.portal().post_message(&session.scope, company, &form.body, internal, &client).await;
    let key = if internal { "note-added" } else { "message-sent" };
    settle(&state, &page, &session, company, "send the message", result.map(|_| key)).await
}

#[derive(Template, WebTemplate)]
#[template(path = "client_activity.html")]
struct ActivityPage {
    layout: Layout,
    /// Each event, and whether it is new to the viewer.
    events: Vec<(Activity, bool)>,
}

pub async fn activity(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
) -> Result<Response, HtmlError> {
    let events = state.app.portal().activity(&session.scope).await?;
    let mut layout = Layout::new("Client activity", &page);
    // Seen now: the badge goes.
    if let Some(user) = &mut layout.user {
        user.portal_unseen = 0;
    }
    Ok(ActivityPage { layout, events }.into_response())
}
