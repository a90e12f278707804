//! CSV import pages: `/{plural}/import` (upload, recent imports) → `/{plural}/import/{upload}`
//! (preview and column mapping) → `…/check` (dry run, a GET so step-up can return to it) →
//! `…/commit` → `/imports/{id}` (result, error report, revert).

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::io::attachment;
use crate::app::auth::AuthSession;
use crate::app::crm::import::{
    DryRun, ImportOptions, ImportRecord, MAX_UPLOAD_BYTES, Preview, Rejection, error_report,
};
use crate::app::crm::import_rows::Importable;
use crate::domain::crm::Kind;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::{HtmlError, status_for};
use crate::web::extract::{AppForm, Authenticated, Client, Page};
use crate::web::html::filters;
use crate::web::html::forms::{FormError, NoticeQuery, is_refusal, notice};
use crate::web::html::layout::Layout;

/// One column of the mapping form.
pub struct Column {
    pub index: usize,
    pub header: String,
    pub field: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "crm_import.html")]
pub struct ImportPage {
    layout: Layout,
    heading: &'static str,
    plural: &'static str,
    upload: String,
    fields: Vec<(&'static str, &'static str)>,
    columns: Vec<Column>,
    preview: Option<Preview>,
    dry_run: Option<DryRun>,
    mapping_query: String,
    options: ImportOptions,
    recent: Vec<ImportRecord>,
    error: Option<FormError>,
}

async fn page_for<T: Importable + super::kinds::PageKind>(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
) -> Result<ImportPage, HtmlError> {
    let recent =
        state.app.imports().recent(&session.scope, T::KIND).await.map_err(|e| HtmlError::while_doing("import", e))?;
    Ok(ImportPage {
        layout: Layout::new(format!("Import {}", T::TITLE.to_lowercase()), page),
        heading: T::TITLE,
        plural: T::KIND.plural(),
        upload: String::new(),
        fields: T::FIELDS.iter().map(|(f, l, _)| (*f, *l)).collect(),
        columns: Vec::new(),
        preview: None,
        dry_run: None,
        mapping_query: String::new(),
        options: ImportOptions { create_companies: true },
        recent,
        error: None,
    })
}

fn shown_with_error(view: ImportPage, error: &AppError) -> Response {
    let status = match error.code() {
        ErrorCode::FileTypeNotAllowed | ErrorCode::FileTooLarge | ErrorCode::RequestTooLarge => {
            status_for(error.code())
        }
        _ => crate::web::html::forms::form_status(true),
    };
    (status, ImportPage { error: Some(FormError::new("import the file", error)), ..view }).into_response()
}

/// `GET /{plural}/import`
pub async fn start<T: Importable + super::kinds::PageKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
) -> Result<ImportPage, HtmlError> {
    page_for::<T>(&state, &page, &session).await
}

/// The `file` part of an upload, read up to the size limit (E2006 beyond it).
async fn file_of(mut form: Multipart) -> Result<Vec<u8>, AppError> {
    let malformed = || AppError::field(ErrorCode::InvalidFormat, "file");
    while let Some(mut field) = form.next_field().await.map_err(|_| malformed())? {
        if field.name() != Some("file") {
            continue;
        }
        let declared = field.content_type().unwrap_or("").to_ascii_lowercase();
        let allowed = declared.is_empty()
            || declared.starts_with("text/")
            || matches!(declared.as_str(), "application/csv" | "application/vnd.ms-excel" | "application/octet-stream");
        if !allowed {
            return Err(AppError::field(ErrorCode::FileTypeNotAllowed, "file"));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| AppError::field(ErrorCode::FileTooLarge, "file"))? {
            if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                return Err(AppError::field(ErrorCode::FileTooLarge, "file"));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(bytes);
    }
    Err(AppError::field(ErrorCode::Required, "file"))
}

/// `POST /{plural}/import` (multipart: `csrf_token`, `file`)
pub async fn upload<T: Importable + super::kinds::PageKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    form: Multipart,
) -> Result<Response, HtmlError> {
    let stored = match file_of(form).await {
        Ok(bytes) => state.app.imports().upload::<T>(&session.scope, bytes, &client).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(id) => Ok(Redirect::to(&format!("/{}/import/{id}", T::KIND.plural())).into_response()),
        Err(e) if is_refusal(&e) || e.code() == ErrorCode::TooManyRequests => Err(HtmlError::while_doing("import", e)),
        Err(e) => Ok(shown_with_error(page_for::<T>(&state, &page, &session).await?, &e)),
    }
}

/// The submitted mapping (`c0`, `c1`, …) in column order.
fn raw_mapping(values: &HashMap<String, String>, columns: usize) -> Vec<String> {
    (0..columns).map(|i| values.get(&format!("c{i}")).cloned().unwrap_or_default()).collect()
}

fn mapping_query(mapping: &[Option<&'static str>], options: ImportOptions) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (i, field) in mapping.iter().enumerate() {
        query.append_pair(&format!("c{i}"), field.unwrap_or(""));
    }
    if options.create_companies {
        query.append_pair(CREATE_COMPANIES, "on");
    }
    query.finish()
}

/// The checkbox "create missing companies" (submitted only when ticked).
const CREATE_COMPANIES: &str = "create_companies";

/// The options of a submitted mapping form.
fn options_of(values: &HashMap<String, String>) -> ImportOptions {
    ImportOptions { create_companies: values.contains_key(CREATE_COMPANIES) }
}

/// The preview page, with the mapping from `values` (or guessed) and, when asked, a dry run.
async fn mapped<T: Importable + super::kinds::PageKind>(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    upload: &str,
    values: Option<&HashMap<String, String>>,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(upload)?;
    let preview =
        state.app.imports().preview::<T>(&session.scope, id).await.map_err(|e| HtmlError::while_doing("import", e))?;
    let mut view = page_for::<T>(state, page, session).await?;
    view.upload = id.to_string();
    let mut mapping = preview.mapping.clone();
    let mut error = None;
    if let Some(values) = values {
        match crate::app::crm::import::parse_mapping::<T>(
            &raw_mapping(values, preview.headers.len()),
            preview.headers.len(),
        ) {
            Ok(chosen) => {
                mapping = chosen;
                view.options = options_of(values);
                view.dry_run =
                    Some(state.app.imports().dry_run::<T>(&session.scope, id, &mapping, view.options).await?);
            }
            Err(e) => error = Some(e),
        }
    }
    view.columns = preview
        .headers
        .iter()
        .enumerate()
        .map(|(index, header)| Column { index, header: header.clone(), field: mapping[index].unwrap_or("") })
        .collect();
    view.mapping_query = mapping_query(&mapping, view.options);
    view.preview = Some(preview);
    Ok(match error {
        Some(e) => shown_with_error(view, &e),
        None => view.into_response(),
    })
}

/// `GET /{plural}/import/{upload}`
pub async fn preview<T: Importable + super::kinds::PageKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Path(upload): Path<String>,
) -> Result<Response, HtmlError> {
    mapped::<T>(&state, &page, &session, &upload, None).await
}

/// `GET /{plural}/import/{upload}/check?c0=…`: the dry run.
pub async fn check<T: Importable + super::kinds::PageKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Path(upload): Path<String>,
    Query(values): Query<HashMap<String, String>>,
) -> Result<Response, HtmlError> {
    mapped::<T>(&state, &page, &session, &upload, Some(&values)).await
}

async fn chosen_mapping<T: Importable>(
    state: &AppState,
    session: &AuthSession,
    id: crate::domain::ids::RecordId,
    values: &HashMap<String, String>,
) -> Result<crate::app::crm::import::Mapping, AppError> {
    let columns = state.app.imports().file::<T>(&session.scope, id).await?.headers.len();
    crate::app::crm::import::parse_mapping::<T>(&raw_mapping(values, columns), columns)
}

/// `GET /{plural}/import/{upload}/errors.csv?c0=…`: the dry run's rejected rows.
pub async fn dry_run_errors<T: Importable>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(upload): Path<String>,
    Query(values): Query<HashMap<String, String>>,
) -> Result<Response, HtmlError> {
    let refuse = |e| HtmlError::while_doing("write the error report", e);
    let id = super::parse_id(&upload)?;
    let mapping = match chosen_mapping::<T>(&state, &session, id, &values).await {
        // Committed since: the import's own report (the upload is deleted by the commit).
        Err(e) if e.code() == ErrorCode::NotFound => {
            let import = state.app.imports().of_upload(&session.scope, id).await.map_err(refuse)?;
            return Ok(Redirect::to(&format!("/imports/{import}/errors.csv")).into_response());
        }
        other => other.map_err(refuse)?,
    };
    let run =
        state.app.imports().dry_run::<T>(&session.scope, id, &mapping, options_of(&values)).await.map_err(refuse)?;
    Ok(attachment("text/csv; charset=utf-8", "import-errors.csv", error_report(&run.rejected).map_err(refuse)?))
}

/// `POST /{plural}/import/{upload}/commit` (the mapping as `c0`, `c1`, …)
pub async fn commit<T: Importable>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(upload): Path<String>,
    AppForm(values): AppForm<HashMap<String, String>>,
) -> Result<Response, HtmlError> {
    let refuse = |e| HtmlError::while_doing("import", e);
    let id = super::parse_id(&upload)?;
    let mapping = chosen_mapping::<T>(&state, &session, id, &values).await.map_err(refuse)?;
    let options = options_of(&values);
    let import =
        state.app.imports().commit::<T>(&session.scope, id, &mapping, options, &client).await.map_err(refuse)?;
    Ok(Redirect::to(&format!("/imports/{import}")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "import_result.html")]
pub struct ResultPage {
    layout: Layout,
    import: ImportRecord,
    plural: &'static str,
    rejected: Vec<Rejection>,
    notice: Option<&'static str>,
}

/// `GET /imports/{id}`
pub async fn result(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<ResultPage, HtmlError> {
    let import = state.app.imports().summary(&session.scope, super::parse_id(&id)?).await?;
    Ok(ResultPage {
        layout: Layout::new("Import", &page),
        plural: if import.kind == Kind::Company { "companies" } else { "contacts" },
        rejected: import.rejected.iter().take(200).cloned().collect(),
        import,
        notice: notice(&query.notice),
    })
}

/// `GET /imports/{id}/errors.csv`
pub async fn result_errors(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let import = state.app.imports().summary(&session.scope, super::parse_id(&id)?).await?;
    Ok(attachment("text/csv; charset=utf-8", "import-errors.csv", error_report(&import.rejected)?))
}

/// `POST /imports/{id}/revert`
pub async fn revert(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    state
        .app
        .imports()
        .revert(&session.scope, id, &client)
        .await
        .map_err(|e| HtmlError::while_doing("revert the import", e))?;
    Ok(Redirect::to(&format!("/imports/{id}?notice=import-reverted")).into_response())
}
