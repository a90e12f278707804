//! `GET /metrics`: the server's metrics in Prometheus' text format, for an owner or admin API
//! token of the home workspace or a loopback caller (a Prometheus on the host); anyone else
//! gets 404. Gauges (index backlog, backup age, certificate expiry, disk, memory, descriptors)
//! are read at scrape time.

use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{ClientIp, CurrentApiScope};

pub async fn scrape(
    State(state): State<AppState>,
    client: ClientIp,
    token: Option<Extension<CurrentApiScope>>,
) -> Result<Response, ApiError> {
    let operator = token.is_some_and(|Extension(CurrentApiScope(scope))| scope.is_some_and(|s| s.is_server_operator()));
    if !client.0.is_loopback() && !operator {
        return Err(ErrorCode::NotFound.into());
    }
    let metrics = state.app.metrics();
    if let Ok(status) = state.app.search().status().await {
        metrics.gauge("holdfast_search_backlog", status.backlog as f64);
    }
    if let Ok(status) = state.app.backups().status().await {
        if let Some(at) = status.last_success_at {
            metrics.gauge("holdfast_backup_age_seconds", (state.app.now() - at) as f64);
        }
        if let Some(at) = status.offsite_last_success_at {
            metrics.gauge("holdfast_offsite_backup_age_seconds", (state.app.now() - at) as f64);
            metrics.gauge("holdfast_offsite_backup_duration_seconds", status.offsite_last_millis as f64 / 1000.0);
        }
        if status.offsite_last_attempt_at.is_some() {
            metrics.gauge("holdfast_offsite_backup_failing", f64::from(u8::from(status.offsite_last_error.is_some())));
        }
    }
    if let Ok(Some(shipping)) = state.app.backups().ship_state().await {
        metrics.gauge("holdfast_offsite_shipping_lag_seconds", (state.app.now() - shipping.last_shipped_at) as f64);
    }
    if let Some(tls) = &state.tls {
        let left = tls.info().not_after.unix_timestamp() - state.app.now();
        metrics.gauge("holdfast_certificate_expiry_seconds", left as f64);
    }
    if let Some(disk) = state.app.data_dir().disk() {
        metrics.gauge("holdfast_disk_free_bytes", disk.free as f64);
        metrics.gauge("holdfast_disk_size_bytes", disk.size as f64);
    }
    metrics.gauge("holdfast_uptime_seconds", state.app.uptime().as_secs_f64());
    let process = crate::app::metrics::ProcessStats::read();
    if let Some(bytes) = process.resident_bytes {
        metrics.gauge("holdfast_process_resident_memory_bytes", bytes as f64);
    }
    if let Some(fds) = process.open_fds {
        metrics.gauge("holdfast_process_open_fds", fds as f64);
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render()).into_response())
}
