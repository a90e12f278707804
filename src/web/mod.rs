//! The HTTP surface: one router with one documented layer stack (see [`layers`]), HTML pages,
//! the JSON API, static assets, health checks and the plain-HTTP redirect.

pub mod api;
pub mod assets;
pub mod cookies;
pub mod download;
pub mod error;
pub mod extract;
pub mod health;
pub mod html;
pub mod layers;
mod metrics;
pub mod offline;
pub mod redirect;
mod rum;
pub mod server;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::app::App;
use crate::config::Config;
use crate::tls::CertManager;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<Config>,
    pub tls: Option<Arc<CertManager>>,
    /// Pages kept between writes.
    pub views: Arc<html::PageViews>,
}

impl AppState {
    pub fn new(app: App, config: Arc<Config>, tls: Option<Arc<CertManager>>) -> AppState {
        AppState { app, config, tls, views: Arc::default() }
    }
}

/// The HTTPS application: routes wrapped in the layer stack.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/health", get(health::health))
        .route("/health/detailed", get(health::detailed))
        .route("/metrics", get(metrics::scrape))
        .route("/rum", axum::routing::post(rum::report))
        .route("/sw.js", get(offline::worker))
        .route("/offline", get(offline::page))
        .route("/settings/offline", get(offline::settings).post(offline::save))
        .route(assets::ROUTE, get(assets::serve))
        .route("/files/{id}/download", get(download::download))
        .merge(html::routes())
        .nest("/api/v1", api::routes())
        .fallback(html::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), layers::csrf::protect))
        .layer(axum::middleware::from_fn_with_state(state.clone(), layers::rate_limit::limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), layers::session::resolve))
        .layer(axum::middleware::from_fn_with_state(state.clone(), layers::cors::allow_listed))
        .with_state(state.clone());
    let hsts = state.tls.is_some() || state.config.tls.mode == crate::config::TlsMode::Off;
    layers::apply(routes, layers::HeaderPolicy { hsts })
        .layer(axum::middleware::from_fn_with_state(state.app.clone(), layers::metrics::record))
}
