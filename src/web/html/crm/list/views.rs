//! Saved views on a list: the tabs above it, saving the list's query under a name, deleting
//! one (POST with the CSRF token; the service audits both).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::super::kinds::PageKind;
use super::super::values::Values;
use crate::app::auth::TenantScope;
use crate::app::crm::NewView;
use crate::domain::crm::Kind;
use crate::domain::ids::ViewId;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Client};

/// A saved view as a tab above the list.
pub struct ViewTab {
    pub name: String,
    pub href: String,
    /// The list shown is this view's query.
    pub current: bool,
    pub shared: bool,
    /// Where its delete button posts, for those who may delete it.
    pub delete: Option<String>,
}

/// The tabs of the views of `kind`'s list the caller sees; `query` is the list's own.
pub async fn tabs(state: &AppState, scope: &TenantScope, kind: Kind, query: &str) -> Result<Vec<ViewTab>, AppError> {
    let views = state.app.records().saved_views(scope, kind).await?;
    let path = super::list_path(kind);
    Ok(views
        .into_iter()
        .map(|v| ViewTab {
            href: format!("{path}?{}", v.query),
            current: v.query == query,
            shared: v.shared,
            delete: v.deletable_by(scope).then(|| format!("/{}/views/{}/delete", kind.plural(), v.id)),
            name: v.name,
        })
        .collect())
}

/// `POST /{plural}/views` (`name`, `query`, `shared`): the list again, in the saved view.
pub async fn save<T: PageKind>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    body: Bytes,
) -> Result<Response, HtmlError> {
    let values = Values::parse(&body);
    let query = values.get("query");
    let run = async {
        // The columns are the page's to know: an unknown one is refused before anything is kept.
        let cols = form_urlencoded::parse(query.as_bytes()).filter(|(n, _)| n == "cols").map(|(_, v)| v.into_owned());
        super::columns::chosen(T::COLUMNS, &cols.collect::<Vec<_>>())?;
        let new = NewView {
            kind: T::KIND,
            name: values.get("name").to_owned(),
            query: query.to_owned(),
            shared: values.has("shared"),
        };
        state.app.records().save_view(&session.scope, new, &client).await
    };
    let view = run.await.map_err(|e| HtmlError::while_doing("save the view", e))?;
    Ok(Redirect::to(&format!("{}?{}", super::list_path(T::KIND), view.query)).into_response())
}

/// `POST /{plural}/views/{id}/delete`: back to the list with a notice.
pub async fn delete<T: PageKind>(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<Response, HtmlError> {
    let deleted = match id.parse::<ViewId>() {
        Ok(id) => state.app.records().delete_view(&session.scope, id, &client).await.map(|_| ()),
        Err(_) => Err(ErrorCode::NotFound.into()),
    };
    deleted.map_err(|e| HtmlError::while_doing("delete the view", e))?;
    Ok(Redirect::to(&format!("{}?notice=view-deleted", super::list_path(T::KIND))).into_response())
}
