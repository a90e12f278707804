//! `GET /api/v1/search?q=&kind=&limit=`: everything the caller may read, best first, as
//! `{"items":[{"kind","id","title","snippet"}],"total":N}`. `snippet` is safe HTML (text
//! escaped, matches in `<mark>`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use crate::app::SearchRequest;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiScope;

/// Hits per answer unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 20;

/// The query string, every value as text (parsed by the service's rules).
#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub limit: String,
}

pub async fn search(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let request = SearchRequest::parse(&params.q, &params.kind, &params.limit, DEFAULT_LIMIT)?;
    let results = state.app.search().query(&scope, &request).await?;
    let items: Vec<Value> = results
        .items
        .iter()
        .map(|hit| {
            json!({
                "kind": hit.kind.as_str(),
                "id": hit.id.to_string(),
                "title": hit.title,
                "snippet": hit.snippet.to_html(),
                "url": hit.link,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "total": results.total })))
}
