//! `POST /rum`: a page's Web Vitals, sent by the browser when the page is left (a beacon with
//! the form's CSRF token). Only a route template and three bounded numbers are taken; they
//! become histograms in `/metrics`. Nothing about the person is kept.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::app::metrics::Vitals;
use crate::error::{AppError, ErrorCode};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::AppForm;

/// Longest a paint or an interaction may be reported to take (longer: a stalled tab).
const MAX_MS: f64 = 600_000.0;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VitalsForm {
    route: String,
    lcp_ms: String,
    inp_ms: String,
    cls: String,
}

fn number(text: &str, max: f64, field: &'static str) -> Result<f64, AppError> {
    let value: f64 = text.trim().parse().map_err(|_| AppError::field(ErrorCode::InvalidFormat, field))?;
    if (0.0..=max).contains(&value) { Ok(value) } else { Err(AppError::field(ErrorCode::InvalidFormat, field)) }
}

/// A route template as the router writes them: `/contacts/{id}`.
fn is_route(route: &str) -> bool {
    route.starts_with('/')
        && route.len() <= 100
        && route.chars().all(|c| c.is_ascii_alphanumeric() || "/{}_.-".contains(c))
}

pub async fn report(State(state): State<AppState>, AppForm(form): AppForm<VitalsForm>) -> Result<StatusCode, ApiError> {
    if !is_route(&form.route) {
        return Err(AppError::field(ErrorCode::InvalidFormat, "route").into());
    }
    let inp_ms = number(&form.inp_ms, MAX_MS, "inp_ms")?;
    let vitals = Vitals {
        lcp_seconds: number(&form.lcp_ms, MAX_MS, "lcp_ms")? / 1000.0,
        inp_seconds: (inp_ms > 0.0).then_some(inp_ms / 1000.0),
        cls: number(&form.cls, 100.0, "cls")?,
    };
    state.app.metrics().web_vitals(&form.route, vitals);
    Ok(StatusCode::NO_CONTENT)
}
