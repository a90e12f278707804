//! Template filters shared by the pages (`{{ at|time }}`, `{{ maybe|time_or_never }}`).

use super::layout::format_time;

/// Unix seconds as `2026-11-23 15:40 UTC`.
#[askama::filter_fn]
pub fn time(unix: &i64, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(format_time(*unix))
}

/// As `time`, or "never".
#[askama::filter_fn]
pub fn time_or_never(unix: &Option<i64>, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(unix.map(format_time).unwrap_or_else(|| "never".to_owned()))
}
