//! `/api/v1/companies/{id}/portal/{documents,requests,messages}`: the firm's side of a
//! company's client portal for scripts. Clients have no API.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::files::{FileView, view as file_view};
use super::records::parse_body;
use crate::app::portal::{DocRequest, Message, NewRequest, SharedDocument};
use crate::domain::crm::Company;
use crate::domain::ids::RecordId;
use crate::domain::timestamps::format_utc;
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{ApiScope, Client};

fn parse_id(id: &str) -> Result<RecordId, ApiError> {
    id.parse().map_err(|_| ApiError::from(ErrorCode::NotFound))
}

/// A client's acknowledgement of a document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PortalReceipt)]
pub struct ReceiptView {
    user_id: String,
    name: String,
    at: String,
    ip: String,
    /// SHA-256 of the file as acknowledged (hex).
    sha256: String,
}

/// A document shared with a company's clients.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PortalDocument)]
pub struct DocumentView {
    file: FileView,
    shared_at: String,
    shared_by: String,
    receipts: Vec<ReceiptView>,
}

fn document(d: &SharedDocument) -> DocumentView {
    DocumentView {
        file: file_view(&d.file),
        shared_at: format_utc(d.shared_at),
        shared_by: d.shared_by.clone(),
        receipts: d
            .receipts
            .iter()
            .map(|r| ReceiptView {
                user_id: r.user.to_string(),
                name: r.name.clone(),
                at: format_utc(r.at),
                ip: r.ip.clone(),
                sha256: r.sha256.clone(),
            })
            .collect(),
    }
}

/// One item of a request and its answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PortalRequestItem)]
pub struct ItemView {
    text: String,
    /// `open`, `answered`, `accepted` or `reopened`.
    state: String,
    answer_text: Option<String>,
    answer_file_id: Option<String>,
    answered_at: Option<String>,
    comment: Option<String>,
}

/// A request the firm made of a company's clients.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PortalRequest)]
pub struct RequestView {
    id: String,
    title: String,
    /// YYYY-MM-DD
    due: String,
    /// Whether the client still has items to answer.
    open: bool,
    created_at: String,
    items: Vec<ItemView>,
}

fn request(r: &DocRequest) -> RequestView {
    RequestView {
        id: r.id.to_string(),
        title: r.title.clone(),
        due: r.due.to_string(),
        open: r.open(),
        created_at: format_utc(r.created_at),
        items: r
            .items
            .iter()
            .map(|item| ItemView {
                text: item.text.clone(),
                state: item.state.as_str().to_owned(),
                answer_text: item.answer_text.clone(),
                answer_file_id: item.answer_file.map(|f| f.to_string()),
                answered_at: item.answered_at.map(format_utc),
                comment: item.comment.clone(),
            })
            .collect(),
    }
}

/// A message of a company's thread.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PortalMessage)]
pub struct MessageView {
    id: String,
    author_id: String,
    author_name: String,
    from_client: bool,
    /// A staff-only note: clients never see it.
    internal: bool,
    body: String,
    at: String,
}

fn message(m: &Message) -> MessageView {
    MessageView {
        id: m.id.to_string(),
        author_id: m.author.to_string(),
        author_name: m.author_name.clone(),
        from_client: m.from_client,
        internal: m.internal,
        body: m.body.clone(),
        at: format_utc(m.at),
    }
}

/// `{"items": […]}`
#[derive(Debug, Serialize)]
pub struct Items<T> {
    items: Vec<T>,
}

/// `GET /api/v1/companies/{id}/portal/documents`
pub async fn documents(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<String>,
) -> Result<Json<Items<DocumentView>>, ApiError> {
    let portal = state.app.portal().overview(&scope, parse_id(&id)?).await?;
    Ok(Json(Items { items: portal.documents.iter().map(document).collect() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    file_id: String,
}

/// `POST /api/v1/companies/{id}/portal/documents`: multipart `file` (attached to the company,
/// then shared) or JSON `{"file_id"}` (an attachment of the company, shared).
pub async fn share(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Client(client): Client,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let company = parse_id(&id)?;
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let file = if multipart {
        let form = Multipart::from_request(request, &state)
            .await
            .map_err(|_| ApiError::from(crate::error::AppError::field(ErrorCode::InvalidFormat, "file")))?;
        crate::web::upload::attach_file::<Company>(&state.app, &scope, company, &client, form).await?.id
    } else {
        let body = axum::body::to_bytes(request.into_body(), crate::web::layers::BODY_LIMIT_BYTES)
            .await
            .map_err(|_| ApiError::from(ErrorCode::RequestTooLarge))?;
        let body: ShareBody = parse_body(&body)?;
        body.file_id.parse().map_err(|_| crate::error::AppError::field(ErrorCode::NotFound, "file_id"))?
    };
    state.app.portal().share(&scope, company, file, &client).await?;
    let portal = state.app.portal().overview(&scope, company).await?;
    let shared = portal.documents.iter().find(|d| d.file.id == file).ok_or(ErrorCode::NotFound)?;
    Ok((StatusCode::CREATED, Json(document(shared))).into_response())
}

/// `GET /api/v1/companies/{id}/portal/requests`
pub async fn requests(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<String>,
) -> Result<Json<Items<RequestView>>, ApiError> {
    let portal = state.app.portal().overview(&scope, parse_id(&id)?).await?;
    Ok(Json(Items { items: portal.requests.iter().map(|v| request(&v.request)).collect() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    title: String,
    due: String,
    items: Vec<ItemBody>,
}

/// `POST /api/v1/companies/{id}/portal/requests` `{"title","due","items":[{"text"}]}`
pub async fn create_request(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Client(client): Client,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: RequestBody = parse_body(&body)?;
    let input = NewRequest {
        title: body.title,
        due: body.due,
        items: body.items.into_iter().map(|i| i.text).collect(),
        template: None,
    };
    let created = state.app.portal().create_request(&scope, parse_id(&id)?, &input, &client).await?;
    Ok((StatusCode::CREATED, Json(request(&created))).into_response())
}

/// `GET /api/v1/companies/{id}/portal/messages` (internal notes included: this is the firm's)
pub async fn messages(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<String>,
) -> Result<Json<Items<MessageView>>, ApiError> {
    let portal = state.app.portal().overview(&scope, parse_id(&id)?).await?;
    Ok(Json(Items { items: portal.messages.iter().map(message).collect() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    body: String,
    #[serde(default)]
    internal: bool,
}

/// `POST /api/v1/companies/{id}/portal/messages` `{"body","internal"}`
pub async fn post_message(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Client(client): Client,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: MessageBody = parse_body(&body)?;
    let posted = state.app.portal().post_message(&scope, parse_id(&id)?, &body.body, body.internal, &client).await?;
    Ok((StatusCode::CREATED, Json(message(&posted))).into_response())
}
