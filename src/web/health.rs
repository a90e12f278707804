//! `/health` for anyone and `/health/detailed` for admins or loopback callers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::extract::{ClientIp, Page};
use crate::error::ErrorCode;

/// Free disk below this is a warning.
const LOW_DISK_BYTES: u64 = 1024 * 1024 * 1024;
/// Certificate validity below this many days is a warning.
const CERT_WARN_DAYS: i64 = 14;

/// `200 ok`, or `503 unavailable` with the reason while the store cannot write (a full disk):
/// a load balancer then stops sending users to a server that would fail their changes.
pub async fn health(State(state): State<AppState>) -> Response {
    let mut body = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "schema": crate::app::schema_version(),
        "uptime_s": state.app.uptime().as_secs(),
    });
    if state.app.store_failing().is_none() {
        return Json(body).into_response();
    }
    // The system's own words (which device, which error) are for /health/detailed.
    body["status"] = json!("unavailable");
    body["reason"] = json!("the store cannot write (a full disk or another I/O failure); it recovers by itself");
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// For loopback callers (monitoring on the host) and signed-in admins; others get 404.
pub async fn detailed(State(state): State<AppState>, client: ClientIp, page: Page) -> Result<Response, ApiError> {
    let admin = page.session.is_some_and(|s| s.scope.is_server_operator());
    if !client.0.is_loopback() && !admin {
        return Err(ErrorCode::NotFound.into());
    }
    let store = match state.app.check_store().await {
        Ok(()) => json!({ "status": "ok" }),
        Err(e) => json!({
            "status": "fail",
            "reason": state.app.store_failing().map_or_else(
                || e.code().message().to_owned(),
                |why| format!("the store cannot write: {why}"),
            ),
        }),
    };
    let free = state.app.data_dir().free_bytes();
    let disk = json!({
        "status": if free.is_some_and(|f| f >= LOW_DISK_BYTES) { "ok" } else { "warn" },
        "free_bytes": free,
    });
    let certificate = match &state.tls {
        Some(tls) => {
            let days_left = tls.days_left();
            let info = tls.info();
            let renewal = tls.renewal();
            let renewing = info.kind == crate::tls::CertKind::AcmeStandIn || renewal.failing.is_some();
            json!({
                "status": if days_left >= CERT_WARN_DAYS && !renewing { "ok" } else { "warn" },
                "days_left": days_left,
                "not_after": info.not_after.unix_timestamp(),
                "self_signed": info.self_signed(),
                "source": info.kind.describe(),
                "renewal_failing": renewal.failing,
                "renewal_failures": renewal.failures,
                "next_renewal_attempt": renewal.next_attempt,
            })
        }
        None => json!({ "status": "ok", "terminated_by_proxy": true }),
    };
    let shipping = state.app.backups().ship_state().await.ok().flatten();
    let queued_changes = state.app.store().queued_changes().await.ok();
    let backup = match (state.app.backups().settings().await, state.app.backups().status().await) {
        (Ok(settings), Ok(status)) => {
            let age = status.last_success_at.map(|t| state.app.now() - t);
            let fresh = age.is_some_and(|a| a <= crate::app::backup::schedule::STALE_AFTER_SECONDS);
            let offsite = settings.offsite.is_configured().then(|| {
                let age = status.offsite_last_success_at.map(|t| state.app.now() - t);
                // Two intervals without a good copy (and not merely the first still running) is late.
                let late = age.is_none_or(|a| a > 2 * 60 * i64::from(settings.base_interval_m));
                let lag = shipping.as_ref().map(|s| state.app.now() - s.last_shipped_at);
                let shipping_error = shipping.as_ref().and_then(|s| s.last_error.clone());
                let healthy = status.offsite_last_error.is_none() && shipping_error.is_none() && !late;
                json!({
                    "status": if healthy { "ok" } else { "warn" },
                    "last_success_age_s": age,
                    "last_object": status.offsite_last_object,
                    "last_error": status.offsite_last_error,
                    "shipping_lag_s": lag,
                    "segments_in_generation": shipping.as_ref().map(|s| s.segments),
                    "last_shipping_error": shipping_error,
                    "queued_changes": queued_changes,
                })
            });
            let offsite_ok = offsite.as_ref().is_none_or(|o| o["status"] == "ok");
            json!({
                "status": if settings.is_configured() && fresh && offsite_ok { "ok" } else { "warn" },
                "configured": settings.is_configured(),
                "last_success_age_s": age,
                "last_drill_ok": status.last_drill_ok,
                "offsite": offsite,
            })
        }
        _ => json!({ "status": "fail" }),
    };
    let index = match state.app.search().status().await {
        Ok(status) => json!({
            "status": if status.backlog > crate::app::SEARCH_BACKLOG_WARN || status.rebuilding { "warn" } else { "ok" },
            "backlog": status.backlog,
            "documents": status.documents,
            "rebuilding": status.rebuilding,
        }),
        Err(_) => json!({ "status": "fail" }),
    };
    // Files are scanned only when a scanner is configured: said plainly when not.
    let scanner = match state.app.files().scanner() {
        Some(scanner) if scanner.answers().await => json!({ "status": "ok", "configured": true }),
        Some(_) => json!({
            "status": "fail", "configured": true, "reason": "the virus scanner does not answer: uploads are refused"
        }),
        None => {
            json!({ "status": "warn", "configured": false, "reason": "no virus scanner: files are stored not scanned" })
        }
    };
    let healthy = store["status"] == "ok";
    let body = json!({
        "status": if !healthy {
            "fail"
        } else if [&disk, &certificate, &backup, &index, &scanner].iter().all(|c| c["status"] == "ok") {
            "ok"
        } else {
            "warn"
        },
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.app.uptime().as_secs(),
        "checks": {
            "store": store,
            "index": index,
            "disk": disk,
            "certificate": certificate,
            "backup": backup,
            "scanner": scanner,
        },
    });
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Ok((status, Json(body)).into_response())
}
