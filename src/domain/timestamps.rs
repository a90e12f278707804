//! Times as people read them in pages and exports: minutes, in UTC, always labelled.

/// Unix seconds as `2026-11-23 15:40 UTC` (empty for a time out of range).
pub fn format_utc(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix).ok().and_then(|t| t.format(&format).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn minutes_in_utc() {
        assert_eq!(super::format_utc(1_763_912_400), "2025-11-23 15:40 UTC");
    }
}
