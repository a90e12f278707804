//! `/api/v1/{companies,contacts,deals,notes,tasks}`: list, create, read, patch and delete, one
//! generic set of handlers over the same services the pages use.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::app::crm::records::{Created, Idempotency};
use crate::app::crm::{CrmRecord, ListFilter};
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{ApiScope, Client};

fn parse_id(id: &str) -> Result<RecordId, ApiError> {
    id.parse().map_err(|_| ApiError::from(ErrorCode::NotFound))
}

/// A JSON body with our error mapping: malformed JSON or an unknown field is E2004. Only the
/// path of the bad value is logged: serde's message can quote the value (a tax id, a phone).
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut json)
        .map_err(|e| AppError::internal(ErrorCode::InvalidFormat, format!("invalid JSON at `{}`", e.path())).into())
}

/// `GET /api/v1/contacts/{id}/privacy-export`: everything held about a contact (managers and
/// up, fresh second factor; audited).
pub async fn privacy_export(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let document = state.app.privacy().export(&scope, parse_id(&id)?, &client).await?;
    Ok(json(StatusCode::OK, to_json(&document)?))
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| AppError::internal(ErrorCode::Internal, e).into())
}

pub(super) async fn list<T: CrmRecord>(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Query(filter): Query<ListFilter>,
) -> Result<Response, ApiError> {
    let listing = state.app.records().list::<T>(&scope, &filter.parse()?).await?;
    Ok(json(StatusCode::OK, to_json(&listing)?))
}

/// The `Idempotency-Key` header (1–255 visible ASCII characters) and a hash of the request.
fn idempotency(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Option<Idempotency>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key =
        value.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()));
    let key = key.ok_or_else(|| AppError::field(ErrorCode::InvalidFormat, "idempotency_key"))?;
    let request =
        Sha256::new().chain_update(method.as_str()).chain_update([0]).chain_update(uri.path()).chain_update([0]);
    Ok(Some(Idempotency {
        key_hash: Sha256::digest(key.as_bytes()).into(),
        request_hash: hex::encode(request.chain_update(body).finalize()),
    }))
}

pub(super) async fn create<T: CrmRecord>(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Client(client): Client,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let idempotency = idempotency(&method, &uri, &headers, &body)?;
    let input: T::Input = parse_body(&body)?;
    match state.app.records().create_once::<T>(&scope, input, &client, idempotency).await? {
        Created::New(record) => {
            let location = format!("/api/v1/{}/{}", T::KIND.plural(), record.id());
            let mut response = json(StatusCode::CREATED, to_json(&record)?);
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Ok(response)
        }
        Created::Replayed { status, body } => {
            let mut response = json(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body);
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
    }
}

pub(super) async fn show<T: CrmRecord>(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = state.app.records().get::<T>(&scope, parse_id(&id)?).await?;
    Ok(json(StatusCode::OK, to_json(&view.record)?))
}

pub(super) async fn update<T: CrmRecord>(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Client(client): Client,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let input: T::Input = parse_body(&body)?;
    let record = state.app.records().update::<T>(&scope, id, input, &client).await?;
    Ok(json(StatusCode::OK, to_json(&record)?))
}

pub(super) async fn remove<T: CrmRecord>(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.records().delete::<T>(&scope, parse_id(&id)?, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
