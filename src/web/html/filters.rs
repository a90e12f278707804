//! Template filters shared by the pages (`{{ at|time }}`, `{{ maybe|time_or_never }}`).

use crate::domain::timestamps::format_utc;

/// Unix seconds as `2026-11-23 15:40 UTC`.
#[askama::filter_fn]
pub fn time(unix: &i64, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(format_utc(*unix))
}

/// Unix seconds as RFC 3339 (`2026-11-23T15:40:00Z`), for `<time datetime>`: the page's
/// script shows it relative ("3 hours ago"), the exact time on hover.
#[askama::filter_fn]
pub fn iso(unix: &i64, _: &dyn askama::Values) -> askama::Result<String> {
    let when = ::time::OffsetDateTime::from_unix_timestamp(*unix).ok();
    Ok(when.and_then(|t| t.format(&::time::format_description::well_known::Rfc3339).ok()).unwrap_or_default())
}

/// A size for people: `812 bytes`, `14.2 KB`, `3.1 MB`, `1.4 GB` (powers of 1,000, as file
/// managers show them).
#[askama::filter_fn]
pub fn size(bytes: &u64, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(human_size(*bytes))
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A `User-Agent` as "Firefox 133 on Windows".
#[askama::filter_fn]
pub fn device(user_agent: &str, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(crate::domain::user_agent::describe(user_agent))
}

/// As `time`, or "never".
#[askama::filter_fn]
pub fn time_or_never(unix: &Option<i64>, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(unix.map(format_utc).unwrap_or_else(|| "never".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(812), "812 bytes");
        assert_eq!(human_size(14_200), "14.2 KB");
        assert_eq!(human_size(999_999), "1.0 MB");
        assert_eq!(human_size(3_100_000), "3.1 MB");
        assert_eq!(human_size(1_400_000_000), "1.4 GB");
    }
}
