//! The client portal's pages under `/portal`: home, documents, requests, messages, account.
//! Every handler takes a [`PortalClient`] — a member of the firm gets 404 here, as a client
//! does on every other page — and calls the portal service with the client's scope alone.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use serde::Deserialize;

use super::filters;
use super::forms::{FormError, NoticeQuery, form_status, notice};
use super::layout::{Brand, Layout};
use crate::app::auth::{ApiTokens, SessionView};
use crate::app::files::FileRow;
use crate::app::portal::{Answer, ClientHome, DocRequest, Message, RequestItem, SharedDocument};
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::download::{LinkQuery, serve};
use crate::web::error::{ApiError, HtmlError};
use crate::web::extract::{AppForm, Client, Page, PortalClient};

/// The portal's routes (the answer form takes a file: the attachment body limit applies).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home))
        .route("/portal/documents", get(documents))
        .route("/portal/documents/{id}", get(document).post(acknowledge))
        .route("/portal/documents/{id}/download", get(download))
        .route("/portal/requests", get(requests))
        .route("/portal/requests/{id}", get(request).post(answer).layer(crate::web::layers::file_body_limit()))
        .route("/portal/messages", get(messages).post(write))
        .route("/portal/account", get(account))
        .route("/portal/logo", get(logo))
        .route("/portal/account/password", post(change_password))
        .route("/portal/account/sessions/{id}/revoke", post(revoke_session))
}

/// A portal page's layout: the firm's name as the brand.
fn layout(state: &AppState, page: &Page, client: &PortalClient, title: &str) -> Layout {
    let mut layout = Layout::new(title, page);
    if let Ok(branding) = state.app.portal().branding(&client.scope) {
        layout.brand = Some(Brand { name: branding.firm, logo: branding.logo });
    }
    layout
}

fn parse_id(id: &str) -> Result<RecordId, HtmlError> {
    id.parse().map_err(|_| HtmlError::from(ErrorCode::NotFound))
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_home.html")]
struct HomePage {
    layout: Layout,
    home: ClientHome,
}

async fn home(State(state): State<AppState>, page: Page, client: PortalClient) -> Result<Response, HtmlError> {
    let home = state.app.portal().home(&client.scope).await?;
    Ok(HomePage { layout: layout(&state, &page, &client, "Home"), home }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_documents.html")]
struct DocumentsPage {
    layout: Layout,
    documents: Vec<SharedDocument>,
}

async fn documents(State(state): State<AppState>, page: Page, client: PortalClient) -> Result<Response, HtmlError> {
    let documents = state.app.portal().documents(&client.scope).await?;
    Ok(DocumentsPage { layout: layout(&state, &page, &client, "Documents"), documents }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_document.html")]
struct DocumentPage {
    layout: Layout,
    document: SharedDocument,
    link: String,
    notice: Option<&'static str>,
    error: Option<FormError>,
}

async fn document(
    State(state): State<AppState>,
    page: Page,
    client: PortalClient,
    Client(info): Client,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    let (document, link) = state.app.portal().document(&client.scope, parse_id(&id)?, &info).await?;
    let layout = layout(&state, &page, &client, &document.file.name);
    Ok(DocumentPage { layout, document, link: link.url, notice: notice(&query.notice), error: None }.into_response())
}

async fn acknowledge(
    State(state): State<AppState>,
    client: PortalClient,
    Client(info): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let id = parse_id(&id)?;
    state
        .app
        .portal()
        .acknowledge(&client.scope, id, &info)
        .await
        .map_err(|e| HtmlError::while_doing("acknowledge the document", e))?;
    Ok(Redirect::to(&format!("/portal/documents/{id}?notice=document-acknowledged")).into_response())
}

async fn download(
    State(state): State<AppState>,
    client: PortalClient,
    Client(info): Client,
    Path(id): Path<String>,
    Query(link): Query<LinkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = id.parse().map_err(|_| ApiError::from(ErrorCode::NotFound))?;
    let file = state.app.portal().open(&client.scope, id, link.expires, &link.sig, &info).await?;
    serve(file, &headers).await
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_requests.html")]
struct RequestsPage {
    layout: Layout,
    requests: Vec<DocRequest>,
}

async fn requests(State(state): State<AppState>, page: Page, client: PortalClient) -> Result<Response, HtmlError> {
    let requests = state.app.portal().requests(&client.scope).await?;
    Ok(RequestsPage { layout: layout(&state, &page, &client, "Requests"), requests }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_request.html")]
struct RequestPage {
    layout: Layout,
    request: DocRequest,
    items: Vec<ItemRow>,
    notice: Option<&'static str>,
    error: Option<FormError>,
}

/// One item of a request as its page shows it.
struct ItemRow {
    index: usize,
    item: RequestItem,
    file: Option<FileRow>,
    /// The answer file's download link, for this client alone.
    link: Option<String>,
}

async fn render_request(
    state: &AppState,
    page: &Page,
    client: &PortalClient,
    info: &crate::app::auth::ClientInfo,
    id: RecordId,
    notice: Option<&'static str>,
    error: Option<FormError>,
) -> Result<Response, HtmlError> {
    let view = state.app.portal().request(&client.scope, id, info).await?;
    let items = view
        .request
        .items
        .iter()
        .zip(view.files)
        .enumerate()
        .map(|(index, (item, file))| ItemRow {
            index,
            item: item.clone(),
            link: file.as_ref().and_then(|f| state.app.portal().link(&client.scope, f.id).ok()).map(|l| l.url),
            file,
        })
        .collect();
    let status = form_status(error.is_some());
    let layout = layout(state, page, client, &view.request.title);
    Ok((status, RequestPage { layout, request: view.request, items, notice, error }).into_response())
}

async fn request(
    State(state): State<AppState>,
    page: Page,
    client: PortalClient,
    Client(info): Client,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    render_request(&state, &page, &client, &info, parse_id(&id)?, notice(&query.notice), None).await
}

/// Longest text part of the answer form that is read (the item number, a text answer).
const FIELD_MAX: usize = 8 * 1024;

/// Reads the answer form — `item`, then `text` or `file` — and answers the item. A file is
/// streamed into the upload pipeline as it arrives.
async fn take_answer(
    state: &AppState,
    client: &PortalClient,
    info: &crate::app::auth::ClientInfo,
    id: RecordId,
    mut form: Multipart,
) -> Result<(), AppError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| crate::web::upload::unreadable(e);
    let (mut item, mut text) = (None, String::new());
    while let Some(mut field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("item") => {
                let value = field.text().await.map_err(unreadable)?;
                item =
                    Some(value.trim().parse::<usize>().map_err(|_| AppError::field(ErrorCode::InvalidFormat, "item"))?);
            }
            Some("text") => {
                text = field.text().await.map_err(unreadable)?;
                if text.len() > FIELD_MAX {
                    return Err(AppError::field(ErrorCode::TooLong, "text"));
                }
            }
            Some("file") => {
                let name = match field.file_name() {
                    Some("") | None => continue,
                    Some(name) => name.to_owned(),
                };
                let item = item.ok_or_else(|| AppError::field(ErrorCode::Required, "item"))?;
                let mut intake = state.app.portal().answer_intake(&client.scope, id, item, &name).await?;
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    intake.push(&chunk).await?;
                }
                let row = intake.commit(info).await?;
                return state.app.portal().answer(&client.scope, id, item, Answer::File(row), info).await;
            }
            _ => {}
        }
    }
    let item = item.ok_or_else(|| AppError::field(ErrorCode::Required, "item"))?;
    if text.trim().is_empty() {
        return Err(AppError::field(ErrorCode::Required, "text").with_hint("Write an answer or choose a file."));
    }
    state.app.portal().answer(&client.scope, id, item, Answer::Text(text), info).await
}

async fn answer(
    State(state): State<AppState>,
    page: Page,
    client: PortalClient,
    Client(info): Client,
    Path(id): Path<String>,
    form: Multipart,
) -> Result<Response, HtmlError> {
    let id = parse_id(&id)?;
    match take_answer(&state, &client, &info, id, form).await {
        Ok(()) => Ok(Redirect::to(&format!("/portal/requests/{id}?notice=answer-sent")).into_response()),
        Err(e) if e.code() == ErrorCode::NotFound => Err(e.into()),
        Err(e) => {
            render_request(&state, &page, &client, &info, id, None, Some(FormError::new("send the answer", &e))).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_messages.html")]
struct MessagesPage {
    layout: Layout,
    messages: Vec<Message>,
    me: crate::domain::ids::UserId,
    notice: Option<&'static str>,
    error: Option<FormError>,
    draft: String,
}

async fn render_messages(
    state: &AppState,
    page: &Page,
    client: &PortalClient,
    notice: Option<&'static str>,
    error: Option<FormError>,
    draft: String,
) -> Result<Response, HtmlError> {
    let messages = state.app.portal().messages(&client.scope).await?;
    let status = form_status(error.is_some());
    let layout = layout(state, page, client, "Messages");
    let me = *client.scope.user();
    Ok((status, MessagesPage { layout, messages, me, notice, error, draft }).into_response())
}

async fn messages(
    State(state): State<AppState>,
    page: Page,
    client: PortalClient,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    render_messages(&state, &page, &client, notice(&query.notice), None, String::new()).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageForm {
    body: String,
}

async fn write(
    State(state): State<AppState>,
    page: Page,
    client: PortalClient,
    Client(info): Client,
    AppForm(form): AppForm<MessageForm>,
) -> Result<Response, HtmlError> {
    match state.app.portal().write(&client.scope, &form.body, &info).await {
        Ok(()) => Ok(Redirect::to("/portal/messages?notice=message-sent").into_response()),
        Err(e) => {
            render_messages(&state, &page, &client, None, Some(FormError::new("send the message", &e)), form.body).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portal_account.html")]
struct AccountPage {
    layout: Layout,
    name: String,
    email: String,
    mfa_enrolled: bool,
    sessions: Vec<SessionView>,
    password_rules: (u32, u32),
    notice: Option<&'static str>,
    password_error: Option<FormError>,
}

async fn render_account(
    state: &AppState,
    page: &Page,
    client: &PortalClient,
    notice: Option<&'static str>,
    password_error: Option<FormError>,
) -> Result<Response, HtmlError> {
    let sessions = state.app.sessions().list(&client.session).await?;
    let policy = state.app.security_policy();
    let status = form_status(password_error.is_some());
    let page = AccountPage {
        layout: layout(state, page, client, "Your account"),
        name: client.session.user_name.clone(),
        email: client.session.email.clone(),
        mfa_enrolled: client.session.mfa_enrolled,
        sessions,
        password_rules: (policy.password_min_length, policy.password_history),
        notice,
        password_error,
    };
    Ok((status, page).into_response())
}

async fn account(
    State(state): State<AppState>,
    page: Page,
    client: PortalClient,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, HtmlError> {
    render_account(&state, &page, &client, notice(&query.notice), None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordForm {
    current_password: SecretString,
    new_password: SecretString,
}

async fn change_password(
    State(state): State<AppState>,
    page: Page,
    client: PortalClient,
    Client(info): Client,
    AppForm(form): AppForm<PasswordForm>,
) -> Result<Response, HtmlError> {
    let changed = state
        .app
        .account()
        .change_password(&client.session, &form.current_password, &form.new_password, ApiTokens::Keep, &info)
        .await;
    match changed {
        Ok(()) => Ok(Redirect::to("/portal/account?notice=password-changed").into_response()),
        Err(e) => render_account(&state, &page, &client, None, Some(FormError::new("change password", &e))).await,
    }
}

async fn revoke_session(
    State(state): State<AppState>,
    client: PortalClient,
    Client(info): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    state
        .app
        .sessions()
        .revoke(&client.session, &id, &info)
        .await
        .map_err(|e| HtmlError::while_doing("sign out that session", e))?;
    Ok(Redirect::to("/portal/account?notice=session-revoked").into_response())
}

/// The firm's logo, for the portal's header.
async fn logo(State(state): State<AppState>, client: PortalClient, headers: HeaderMap) -> Result<Response, ApiError> {
    serve(state.app.portal().client_logo(&client.scope)?, &headers).await
}
