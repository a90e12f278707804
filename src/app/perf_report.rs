//! The weekly performance report: once a week, the p50 and p95 of each page's load and
//! interactions (as browsers reported them) and of each API route's answers, against the
//! targets (page load < 2 s, interactions < 500 ms, API p95 < 300 ms), emailed to the server's
//! owners and admins. What is counted lives in memory: after a restart the report covers the
//! time since the start.

use serde::{Deserialize, Serialize};

use super::metrics::percentile;
use super::store::Versioned;
use crate::error::AppError;

crate::app::service! {
    /// The weekly performance report.
    PerfReport
}

/// A week, in seconds.
const WEEK: i64 = 7 * 86_400;
/// Where the time of the last report is kept (a server setting).
const SETTING: &str = "perf_report";

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct LastReport {
    at: i64,
}

impl Versioned for LastReport {
    const VERSION: u16 = 1;
}

/// `0.25 s` or `250 ms`; a percentile past the largest bucket is "over 10 s".
fn duration(seconds: f64) -> String {
    if seconds.is_infinite() {
        "over 10 s".to_owned()
    } else if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.1} s")
    }
}

impl PerfReport<'_> {
    /// Sends the report when a week has passed since the last one (the first week starts at
    /// the first call); answers whether it was sent.
    pub async fn send_if_due(&self) -> Result<bool, AppError> {
        let now = self.now();
        let last: Option<LastReport> = self.store().read_now(|txn| txn.setting(SETTING))?;
        let since = match last {
            Some(last) if now - last.at < WEEK => return Ok(false),
            Some(last) => last.at,
            None => {
                self.store().write(move |txn| txn.save_setting(SETTING, &LastReport { at: now })).await?;
                return Ok(false);
            }
        };
        self.store().write(move |txn| txn.save_setting(SETTING, &LastReport { at: now })).await?;
        let body = self.compose(since);
        for to in self.alerts().operators().await {
            self.email().send_in_background(to, "Holdfast: weekly performance report", body.clone());
        }
        Ok(true)
    }

    /// The report's text, from what was counted since the last one.
    fn compose(&self, since: i64) -> String {
        let week = self.metrics().take_week();
        let mut text = format!(
            "Holdfast's speed as people saw it since {} (p50 and p95 against the target for p95).\n",
            crate::domain::timestamps::format_utc(since)
        );
        if week.is_empty() {
            text.push_str("\nNo page views or API requests were reported.\n");
        }
        let mut heading = None;
        let mut over = 0;
        for ((measure, route), buckets) in &week {
            if heading != Some(*measure) {
                text.push_str(&format!(
                    "\n{} (target: p95 under {}):\n",
                    measure.label(),
                    duration(measure.target_seconds())
                ));
                heading = Some(*measure);
            }
            let (Some(p50), Some(p95)) = (percentile(buckets, 50), percentile(buckets, 95)) else { continue };
            let met = p95 <= measure.target_seconds();
            over += usize::from(!met);
            let count: u64 = buckets.iter().sum();
            text.push_str(&format!(
                "  {route}: p50 {}, p95 {} ({count} measured) {}\n",
                duration(p50),
                duration(p95),
                if met { "- ok" } else { "- OVER TARGET" }
            ));
        }
        text.push_str(&format!("\n{over} line(s) over target. Live numbers: /metrics and Settings → System.\n"));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0.25), "250 ms");
        assert_eq!(duration(2.5), "2.5 s");
        assert_eq!(duration(f64::INFINITY), "over 10 s");
    }
}
