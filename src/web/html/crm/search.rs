//! `GET /search?q=`: hits grouped by kind, each with its title, kind and snippet; and
//! `GET /search/suggest?q=`: a small HTML fragment of the top titles, fetched as the user
//! types by `static/app.js` (the page works without it).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use crate::app::{SearchHit, SearchRequest};
use crate::domain::crm::Kind;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Page};
use crate::web::html::layout::Layout;

/// Hits on the results page at most.
const PAGE_LIMIT: usize = 50;
/// Titles in the suggestions at most.
const SUGGEST_LIMIT: usize = 8;

#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
}

/// The hits of one kind.
pub struct Group {
    pub heading: &'static str,
    pub hits: Vec<SearchHit>,
}

#[derive(Template, WebTemplate)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    searched: bool,
    total: usize,
    groups: Vec<Group>,
}

#[derive(Template, WebTemplate)]
#[template(path = "search_suggest.html")]
struct Suggestions {
    hits: Vec<SearchHit>,
}

fn heading(kind: Kind) -> &'static str {
    match kind {
        Kind::Contact => "Contacts",
        Kind::Company => "Companies",
        Kind::Deal => "Deals",
        Kind::Task => "Tasks",
        Kind::Note => "Notes",
    }
}

fn request(query: Result<Query<SearchQuery>, QueryRejection>, limit: usize) -> Result<SearchRequest, HtmlError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    Ok(SearchRequest::parse(&query.q, &query.kind, "", limit)?)
}

pub async fn page(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, HtmlError> {
    let request = request(query, PAGE_LIMIT)?;
    let results =
        state.app.search().query(&session.scope, &request).await.map_err(|e| HtmlError::while_doing("search", e))?;
    let mut groups: Vec<Group> = [Kind::Contact, Kind::Company, Kind::Deal, Kind::Task, Kind::Note]
        .into_iter()
        .map(|kind| Group { heading: heading(kind), hits: Vec::new() })
        .collect();
    for hit in results.items {
        let at = [Kind::Contact, Kind::Company, Kind::Deal, Kind::Task, Kind::Note].iter().position(|k| *k == hit.kind);
        groups[at.unwrap_or(0)].hits.push(hit);
    }
    let view = SearchPage {
        layout: Layout::new("Search", &page),
        q: request.q.chars().take(crate::app::SEARCH_MAX_INPUT).collect(),
        searched: !request.q.trim().is_empty(),
        total: results.total,
        groups: groups.into_iter().filter(|g| !g.hits.is_empty()).collect(),
    };
    Ok(view.into_response())
}

pub async fn suggest(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, HtmlError> {
    let request = request(query, SUGGEST_LIMIT)?;
    let hits = state.app.search().suggest(&session.scope, &request).await?;
    Ok(Suggestions { hits }.into_response())
}
