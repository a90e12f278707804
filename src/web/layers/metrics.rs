//! Counts and times every answered request by its route template (`/contacts/{id}`, never the
//! path, so ids make no new series; `unmatched` for the not-found fallback) and method (the
//! standard ones; any other is `other`). The outermost
//! layer: panics, timeouts and refusals of the layers within are counted as what they answer.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::app::App;

pub async fn record(State(app): State<App>, request: Request, next: Next) -> Response {
    // A cheap clone (the template is shared), kept across the handler.
    let route = request.extensions().get::<MatchedPath>().cloned();
    // Any token is a method to hyper: only the standard ones become label values.
    let method = match *request.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    app.metrics().http_request(route, method, response.status().as_u16(), seconds);
    response
}
