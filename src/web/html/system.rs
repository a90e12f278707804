//! `/settings/system`: version, uptime, data directory size and certificate expiry.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use super::filters;
use super::layout::Layout;
use crate::app::auth::permissions::Action;
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::HtmlError;
use crate::web::extract::{Authenticated, Page};

#[derive(Template, WebTemplate)]
#[template(path = "settings_system.html")]
pub struct SystemPage {
    layout: Layout,
    version: &'static str,
    uptime: String,
    data_dir: String,
    data_dir_size: String,
    free_disk: String,
    certificate: String,
    /// Operational alerts firing at the last evaluation (once a minute).
    alerts: Vec<crate::app::ops_alerts::Firing>,
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    Authenticated(session): Authenticated,
) -> Result<SystemPage, HtmlError> {
    session
        .scope
        .require(Action::ManageSettings)
        .and_then(|()| session.scope.require_server_operator())
        .map_err(|e| HtmlError::while_doing("open system settings", e))?;
    let app = state.app.clone();
    let (size, free) = tokio::task::spawn_blocking(move || (app.data_dir().size_bytes(), app.data_dir().free_bytes()))
        .await
        .map_err(|e| crate::error::AppError::internal(ErrorCode::Internal, e))?;
    let certificate = match &state.tls {
        Some(tls) => {
            let info = tls.info();
            let mut line =
                format!("expires {} ({} days left; {})", info.not_after.date(), tls.days_left(), info.kind.describe());
            if let Some(why) = tls.renewal().failing {
                line.push_str(&format!(" — renewal failing: {why}"));
            }
            line
        }
        None => "TLS is terminated by the trusted proxy".to_owned(),
    };
    Ok(SystemPage {
        layout: Layout::new("System", &page),
        version: env!("CARGO_PKG_VERSION"),
        uptime: human_duration(state.app.uptime().as_secs()),
        data_dir: state.app.data_dir().root().display().to_string(),
        data_dir_size: human_bytes(size),
        free_disk: free.map_or_else(|| "unknown".to_owned(), human_bytes),
        certificate,
        alerts: state.app.ops_alerts().firing(),
    })
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

fn human_duration(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_sizes_and_durations() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_duration(3 * 3600 + 120), "3 h 2 min");
        assert_eq!(super::human_duration(90_000), "1 d 1 h");
    }
}
