//! New and edit forms of every kind, their submissions and deletion (post-redirect-get; a
//! refused form is shown again with 422, the coded error, the field marked and the values kept).

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::kinds::{FormKind, Inline, PageKind, path};
use super::values::{Field, Values, mark};
use crate::app::auth::AuthSession;
use crate::app::auth::permissions::Action;
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client, Page};
use crate::web::html::forms::{FormError, form_status, is_refusal, with_notice};
use crate::web::html::layout::Layout;

/// The hidden field naming the fact an inline edit's form holds.
const INLINE_FIELD: &str = "inline";

#[derive(Template, WebTemplate)]
#[template(path = "crm_form.html")]
struct FormPage {
    layout: Layout,
    heading: String,
    action: String,
    cancel: String,
    fields: Vec<Field>,
    error: Option<FormError>,
    /// Records that look the same (same email, same company name): shown before creating.
    duplicates: Vec<(String, String)>,
}

/// Which form: a new record, a whole record, or one fact of a record (an inline edit).
#[derive(Clone, Copy)]
enum Editing {
    New,
    Record(RecordId),
    Fact(RecordId, &'static Inline),
}

impl Editing {
    fn id(self) -> Option<RecordId> {
        match self {
            Self::New => None,
            Self::Record(id) | Self::Fact(id, _) => Some(id),
        }
    }
}

/// The query of an edit form: `field` opens one fact's form (its [`Inline::key`]).
#[derive(Debug, Default, serde::Deserialize)]
pub struct EditQuery {
    #[serde(default)]
    field: String,
}

/// Shows the form of `T` filled with `values`.
async fn render<T: FormKind>(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    editing: Editing,
    values: &Values,
    error: Option<FormError>,
    duplicates: Vec<(String, String)>,
) -> Result<Response, HtmlError> {
    let choices =
        super::choices(state, &session.scope, T::KIND).await.map_err(|e| HtmlError::while_doing("open the form", e))?;
    let mut fields = T::fields(values, &choices, editing.id().is_none());
    if let Editing::Fact(_, inline) = editing {
        fields.retain(|field| inline.holds(field.name));
        fields.push(Field::hidden(INLINE_FIELD, inline.key));
    }
    mark(&mut fields, error.as_ref());
    let plural = T::KIND.plural();
    let (heading, action, cancel) = match editing {
        Editing::Record(id) => {
            (format!("Edit {}", T::NOUN), format!("{}/edit", path(T::KIND, &id)), T::cancel_path(&id, values))
        }
        Editing::Fact(id, inline) => (
            format!("Edit {}", inline.label.to_lowercase()),
            format!("{}/edit", path(T::KIND, &id)),
            path(T::KIND, &id),
        ),
        Editing::New => (format!("New {}", T::NOUN), format!("/{plural}/new"), format!("/{plural}")),
    };
    let status = form_status(error.is_some());
    let status = if duplicates.is_empty() { status } else { axum::http::StatusCode::CONFLICT };
    let layout = Layout::new(heading.clone(), page);
    let view = FormPage { layout, heading, action, cancel, fields, error, duplicates };
    Ok((status, view).into_response())
}

/// After a save: the record's page; a refusal goes to the error page, a bad value back to
/// the form.
async fn answer<T: FormKind>(
    state: &AppState,
    page: &Page,
    session: &AuthSession,
    editing: Editing,
    values: &Values,
    result: Result<T, AppError>,
) -> Result<Response, HtmlError> {
    match result {
        Ok(record) => Ok(Redirect::to(&with_notice(&record.saved_path(), "record-saved")).into_response()),
        Err(e) if is_refusal(&e) || e.code() == ErrorCode::NotFound => {
            Err(HtmlError::while_doing("save the record", e))
        }
        Err(e) => {
            let error = FormError::new(&format!("save {}", T::NOUN), &e);
            render::<T>(state, page, session, editing, values, Some(error), Vec::new()).await
        }
    }
}

/// `GET /{kind}/new`: the query string may prefill fields (`?company_id=…`).
pub async fn new_form<T: PageKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Response, HtmlError> {
    session.scope.require(Action::CreateRecords).map_err(|e| HtmlError::while_doing("create a record", e))?;
    let mut values = Values::parse(query.unwrap_or_default().as_bytes());
    for owner in ["owner_id", "assignee_id"] {
        if !values.has(owner) {
            values.set(owner, session.scope.user().to_string());
        }
    }
    render::<T>(&state, &page, &session, Editing::New, &values, None, Vec::new()).await
}

pub async fn create<T: FormKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let values = Values::parse(&body);
    let input = match T::input(&values, true) {
        Ok(input) => input,
        Err(e) => return answer::<T>(&state, &page, &session, Editing::New, &values, Err(e)).await,
    };
    if !values.has("confirm_duplicate") {
        let found = state.app.records().possible_duplicates::<T>(&session.scope, &input).await?;
        if !found.is_empty() {
            let duplicates = found.iter().map(|(id, title)| (path(T::KIND, id), title.clone())).collect();
            return render::<T>(&state, &page, &session, Editing::New, &values, None, duplicates).await;
        }
    }
    let result = state.app.records().create::<T>(&session.scope, input, &client).await;
    answer(&state, &page, &session, Editing::New, &values, result).await
}

/// `GET /{kind}/{id}/edit`: the whole form; `?field=status` the form of that one fact.
pub async fn edit_form<T: FormKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Path(id): Path<String>,
    query: Result<Query<EditQuery>, QueryRejection>,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    let view = state.app.records().get::<T>(&session.scope, id).await.map_err(|e| HtmlError::while_doing("edit", e))?;
    if !view.can_edit {
        return Err(HtmlError::while_doing("edit the record", ErrorCode::Forbidden));
    }
    let field = query.map(|Query(q)| q.field).unwrap_or_default();
    let editing = Inline::find::<T>(&field).map_or(Editing::Record(id), |inline| Editing::Fact(id, inline));
    render::<T>(&state, &page, &session, editing, &view.record.values(), None, Vec::new()).await
}

/// `POST /{kind}/{id}/edit`: the whole form, or one fact's (then the record's other values
/// stay as they are: the fact's fields are laid over them, so a checkbox the small form
/// lacks is not read as cleared).
pub async fn save<T: FormKind>(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    let submitted = Values::parse(&body);
    let (editing, values) = match Inline::find::<T>(submitted.get(INLINE_FIELD)) {
        Some(inline) => {
            let view = state
                .app
                .records()
                .get::<T>(&session.scope, id)
                .await
                .map_err(|e| HtmlError::while_doing("edit", e))?;
            let mut values = view.record.values();
            for (name, value) in submitted.pairs().filter(|(name, _)| inline.holds(name)) {
                values = values.with(name, value);
            }
            (Editing::Fact(id, inline), values)
        }
        None => (Editing::Record(id), submitted),
    };
    let result = match T::input(&values, false) {
        Ok(input) => state.app.records().update::<T>(&session.scope, id, input, &client).await,
        Err(e) => Err(e),
    };
    answer(&state, &page, &session, editing, &values, result).await
}

pub async fn delete<T: PageKind>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let id = super::parse_id(&id)?;
    state
        .app
        .records()
        .delete::<T>(&session.scope, id, &client)
        .await
        .map_err(|e| HtmlError::while_doing("delete the record", e))?;
    Ok(Redirect::to(&format!("/{}?notice=record-deleted", T::KIND.plural())).into_response())
}
