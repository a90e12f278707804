//! Downloads: `/{plural}/export.csv` (GET with the list's filters, POST with `ids`),
//! `/contacts/export.vcf` (POST with `ids` or filters) and `/contacts/{id}/vcard`.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::app::auth::permissions::Action;
use crate::app::crm::export::{CsvExport, MAX_SELECTED, Selection};
use crate::app::crm::{ListFilter, ListQuery};
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client};

/// A download: `Content-Disposition: attachment` with a fixed file name.
pub(super) fn attachment(content_type: &'static str, file_name: &str, body: String) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

/// A posted selection: `ids` (repeated, or separated by commas or spaces) or, without ids,
/// the list filters.
/// An export's filter: every matching record, whatever page the list showed (its cursor is
/// ignored).
fn export_query(filter: ListFilter) -> Result<ListQuery, AppError> {
    ListFilter { cursor: String::new(), ..filter }.parse()
}

fn selection_of(body: &[u8]) -> Result<Selection, AppError> {
    let mut ids = Vec::new();
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(body) {
        if name == "ids" {
            for id in value.split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()) {
                ids.push(id.parse().map_err(|_| AppError::field(ErrorCode::InvalidFormat, "ids"))?);
            }
        } else {
            rest.append_pair(&name, &value);
        }
    }
    if ids.len() > MAX_SELECTED {
        return Err(AppError::field(ErrorCode::TooLong, "ids"));
    }
    if !ids.is_empty() {
        return Ok(Selection::Ids(ids));
    }
    let uri: Uri =
        format!("/?{}", rest.finish()).parse().map_err(|_| AppError::field(ErrorCode::InvalidFormat, "q"))?;
    let Query(filter) =
        Query::<ListFilter>::try_from_uri(&uri).map_err(|_| AppError::field(ErrorCode::InvalidFormat, "q"))?;
    export_query(filter).map(|query| Selection::Filter(Box::new(query)))
}

async fn csv_of<T: CsvExport>(
    state: &AppState,
    session: &crate::app::auth::AuthSession,
    selection: Selection,
    client: &crate::app::auth::ClientInfo,
) -> Result<Response, HtmlError> {
    let refuse = |e| HtmlError::while_doing("export records", e);
    let (csv, _) = state.app.exports().csv::<T>(&session.scope, &selection, client).await.map_err(refuse)?;
    Ok(attachment("text/csv; charset=utf-8", &format!("holdfast-{}.csv", T::KIND.plural()), csv))
}

/// `GET /{plural}/export.csv?…filters…`
pub async fn export_csv<T: CsvExport>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    query: Result<Query<ListFilter>, QueryRejection>,
) -> Result<Response, HtmlError> {
    let refuse = |e| HtmlError::while_doing("export records", e);
    // Refused before the filter is read, as the export itself would be.
    session.scope.require(Action::ImportExport).map_err(refuse)?;
    let Query(filter) = query.map_err(|_| refuse(AppError::field(ErrorCode::InvalidFormat, "q")))?;
    let query = export_query(filter).map_err(refuse)?;
    csv_of::<T>(&state, &session, Selection::Filter(Box::new(query)), &client).await
}

/// `POST /{plural}/export.csv` with `ids` (or filters).
pub async fn export_selected_csv<T: CsvExport>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let selection = selection_of(&body).map_err(|e| HtmlError::while_doing("export records", e))?;
    csv_of::<T>(&state, &session, selection, &client).await
}

/// `POST /contacts/export.vcf` with `ids` (or filters).
pub async fn export_vcf(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let refuse = |e| HtmlError::while_doing("export contacts", e);
    let selection = selection_of(&body).map_err(refuse)?;
    let cards = state.app.exports().vcards(&session.scope, &selection, &client).await.map_err(refuse)?;
    Ok(attachment("text/vcard; charset=utf-8", "holdfast-contacts.vcf", cards))
}

/// `GET /contacts/{id}/vcard`
pub async fn vcard(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    let card = state.app.exports().vcard(&session.scope, id).await?;
    Ok(attachment("text/vcard; charset=utf-8", &format!("contact-{id}.vcf"), card))
}
