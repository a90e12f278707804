//! JSON API v1: bearer-token authenticated, problem+json errors with codes.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub mod openapi;
mod records;
mod search;

use super::AppState;
use super::error::ApiError;
use super::extract::ApiScope;
use crate::domain::crm::{Company, Contact, Deal, Note, Task};
use crate::error::ErrorCode;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/openapi.json", get(openapi::serve))
        .route("/search", get(search::search))
        .merge(records::resource::<Company>())
        .merge(records::resource::<Contact>())
        .route("/contacts/{id}/privacy-export", get(records::privacy_export))
        .merge(records::resource::<Deal>())
        .merge(records::resource::<Note>())
        .merge(records::resource::<Task>())
        .fallback(|| async { ApiError::from(ErrorCode::NotFound) })
}

/// Who the token acts as: a cheap way for scripts to check their token.
async fn me(State(_state): State<AppState>, ApiScope(scope): ApiScope) -> Json<serde_json::Value> {
    Json(json!({
        "user_id": scope.user().to_string(),
        "workspace_id": scope.workspace().to_string(),
        "role": scope.role().as_str(),
    }))
}
