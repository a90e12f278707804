//! Server-rendered pages. Handlers stay thin: parse → service → render.

pub mod layout;
mod system;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::AppState;
use super::error::HtmlError;
use super::extract::CspNonce;
use crate::app::error::ErrorCode;
use layout::Layout;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home)).route("/settings/system", get(system::show))
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    setup_pending: bool,
}

async fn home(State(state): State<AppState>, nonce: CspNonce) -> Result<HomePage, HtmlError> {
    let setup_pending = state.app.pending_setup_token().await?.is_some();
    Ok(HomePage { layout: Layout::new("Welcome", &nonce), setup_pending })
}

/// Unknown paths: the coded 404 page.
pub async fn not_found() -> HtmlError {
    ErrorCode::NotFound.into()
}
