//! The alerts of `packaging/prometheus-alerts.yml` for servers without Prometheus: evaluated
//! once a minute from the same measurements (the last five minutes of requests, disk, memory,
//! certificate, search backlog), raised through the alert webhook and the audit log when one
//! starts firing, and listed on /settings/system while they fire. A stale backup is alerted by
//! the backup schedule itself.

use std::sync::RwLock;

use crate::app::audit::{AuditEvent, SERVER_CHAIN};
use crate::app::metrics::{ProcessStats, RecentRequests};
use crate::error::AppError;

crate::app::service! {
    /// Operational alerts: what fires now, and the evaluation that raises them.
    OpsAlerts
}

/// Fewer requests than this in five minutes say nothing about error rate or latency.
const MIN_REQUESTS: u64 = 20;
const ERROR_RATE: f64 = 0.05;
const SLOW_P95_SECONDS: f64 = 1.0;
const CERT_DAYS: i64 = 14;
const DISK_USED: f64 = 0.9;
const MEMORY_BYTES: u64 = 1_500_000_000;
const SEARCH_BACKLOG: u64 = 10_000;

/// One operational alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpsAlert {
    ErrorRate,
    SlowRequests,
    CertificateExpiring,
    DiskFull,
    MemoryHigh,
    SearchBacklog,
}

impl OpsAlert {
    /// Its audit event (and webhook) name.
    pub fn event(self) -> &'static str {
        match self {
            OpsAlert::ErrorRate => "ops.error_rate",
            OpsAlert::SlowRequests => "ops.slow_requests",
            OpsAlert::CertificateExpiring => "ops.certificate_expiring",
            OpsAlert::DiskFull => "ops.disk_full",
            OpsAlert::MemoryHigh => "ops.memory_high",
            OpsAlert::SearchBacklog => "ops.search_backlog",
        }
    }

    /// What it means, in words.
    pub fn summary(self) -> &'static str {
        match self {
            OpsAlert::ErrorRate => "More than 5 % of requests failed with a server error in the last five minutes.",
            OpsAlert::SlowRequests => "The 95th-percentile answer time was over one second in the last five minutes.",
            OpsAlert::CertificateExpiring => "The TLS certificate expires within 14 days.",
            OpsAlert::DiskFull => "The disk holding the data is more than 90 % full.",
            OpsAlert::MemoryHigh => "The server uses more than 1.5 GB of memory.",
            OpsAlert::SearchBacklog => "More than 10,000 changes wait to be searchable.",
        }
    }
}

/// What the alerts are judged on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Readings {
    pub requests: RecentRequests,
    /// Seconds until the certificate expires (none behind a TLS-terminating proxy).
    pub certificate_left: Option<i64>,
    /// The share of the data directory's disk in use.
    pub disk_used: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub search_backlog: Option<u64>,
}

/// A firing alert with the measurement that fired it.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub alert: OpsAlert,
    pub measured: String,
    /// When it started firing (unix seconds).
    pub since: i64,
}

/// The alerts `readings` fire, each with what was measured.
pub fn judge(readings: &Readings) -> Vec<(OpsAlert, String)> {
    let mut firing = Vec::new();
    let requests = readings.requests;
    if requests.total >= MIN_REQUESTS {
        let rate = requests.errors as f64 / requests.total as f64;
        if rate > ERROR_RATE {
            firing.push((OpsAlert::ErrorRate, format!("{} of {} requests failed", requests.errors, requests.total)));
        }
        if let Some(p95) = requests.p95_seconds.filter(|p95| *p95 > SLOW_P95_SECONDS) {
            firing.push((OpsAlert::SlowRequests, format!("p95 up to {p95} s over {} requests", requests.total)));
        }
    }
    if let Some(left) = readings.certificate_left.filter(|left| *left < CERT_DAYS * 86_400) {
        firing.push((OpsAlert::CertificateExpiring, format!("{} days left", left / 86_400)));
    }
    if let Some(used) = readings.disk_used.filter(|used| *used > DISK_USED) {
        firing.push((OpsAlert::DiskFull, format!("{:.0} % used", used * 100.0)));
    }
    if let Some(bytes) = readings.memory_bytes.filter(|bytes| *bytes > MEMORY_BYTES) {
        firing.push((OpsAlert::MemoryHigh, format!("{} MB resident", bytes / 1_000_000)));
    }
    if let Some(backlog) = readings.search_backlog.filter(|backlog| *backlog > SEARCH_BACKLOG) {
        firing.push((OpsAlert::SearchBacklog, format!("{backlog} changes waiting")));
    }
    firing
}

/// The alerts firing now (kept between evaluations).
pub(crate) type FiringNow = RwLock<Vec<Firing>>;

impl OpsAlerts<'_> {
    /// Takes the readings, and raises every alert that starts firing (audited, then sent to
    /// the webhook). Answers what fires now.
    pub async fn evaluate(&self, certificate_left: Option<i64>) -> Result<Vec<Firing>, AppError> {
        let readings = Readings {
            requests: self.metrics().recent_requests(),
            certificate_left,
            disk_used: self.data_dir().disk().map(crate::datadir::Disk::used),
            memory_bytes: ProcessStats::read().resident_bytes,
            search_backlog: self.search().status().await.ok().map(|status| status.backlog),
        };
        let now = self.now();
        let before = self.firing();
        let firing: Vec<Firing> = judge(&readings)
            .into_iter()
            .map(|(alert, measured)| {
                let since = before.iter().find(|f| f.alert == alert).map_or(now, |f| f.since);
                Firing { alert, measured, since }
            })
            .collect();
        for started in firing.iter().filter(|f| !before.iter().any(|b| b.alert == f.alert)) {
            tracing::warn!(alert = started.alert.event(), measured = %started.measured, "operational alert");
            let event = AuditEvent::new(started.alert.event(), None).fields(&[&started.measured]).failed();
            self.alerts().raise(SERVER_CHAIN, event);
        }
        *self.inner().ops_firing.write().unwrap_or_else(|p| p.into_inner()) = firing.clone();
        Ok(firing)
    }

    /// The alerts firing at the last evaluation.
    pub fn firing(&self) -> Vec<Firing> {
        self.inner().ops_firing.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_fire_past_their_thresholds_and_not_on_little_traffic() {
        let quiet = Readings::default();
        assert!(judge(&quiet).is_empty());
        let few = Readings { requests: RecentRequests { total: 5, errors: 5, p95_seconds: Some(10.0) }, ..quiet };
        assert!(judge(&few).is_empty(), "five failed requests are not a rate");
        let failing = Readings { requests: RecentRequests { total: 100, errors: 6, p95_seconds: Some(2.5) }, ..quiet };
        let fired: Vec<OpsAlert> = judge(&failing).into_iter().map(|(alert, _)| alert).collect();
        assert_eq!(fired, [OpsAlert::ErrorRate, OpsAlert::SlowRequests]);
        let fine = Readings { requests: RecentRequests { total: 100, errors: 5, p95_seconds: Some(1.0) }, ..quiet };
        assert!(judge(&fine).is_empty(), "5 % and 1 s are the limits, not past them");
        let host = Readings {
            certificate_left: Some(13 * 86_400),
            disk_used: Some(0.95),
            memory_bytes: Some(2_000_000_000),
            search_backlog: Some(20_000),
            ..quiet
        };
        let fired: Vec<OpsAlert> = judge(&host).into_iter().map(|(alert, _)| alert).collect();
        assert_eq!(
            fired,
            [OpsAlert::CertificateExpiring, OpsAlert::DiskFull, OpsAlert::MemoryHigh, OpsAlert::SearchBacklog]
        );
    }
}
