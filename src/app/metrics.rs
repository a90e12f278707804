//! Prometheus metrics: each `App` has its own recorder (no process-wide global, so two servers
//! in one process, as in the tests, count apart), fed by the request layer and the services,
//! and rendered in the text format at `/metrics` with the gauges read at scrape time. The last
//! five minutes of requests are also kept summed, for the in-process alerts.

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Where the recorded metrics say they come from.
static METADATA: Metadata<'static> = Metadata::new("holdfast", Level::INFO, Some(module_path!()));

/// Request latency buckets, in seconds: from a cached page to the 1 s alert and past it.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The gauges read at scrape time, with what they mean.
const GAUGES: [(&str, &str); 12] = [
    ("holdfast_search_backlog", "Changes not yet in the search index"),
    ("holdfast_backup_age_seconds", "Age of the last good backup"),
    ("holdfast_offsite_backup_age_seconds", "Age of the last good off-site backup"),
    ("holdfast_offsite_backup_duration_seconds", "How long the last good off-site backup took"),
    ("holdfast_offsite_backup_failing", "1 while the latest off-site backup attempt failed"),
    ("holdfast_offsite_shipping_lag_seconds", "Time since the last change segment or base reached the bucket"),
    ("holdfast_certificate_expiry_seconds", "Time until the TLS certificate expires"),
    ("holdfast_disk_free_bytes", "Free space on the data directory's disk"),
    ("holdfast_disk_size_bytes", "Size of the data directory's disk"),
    ("holdfast_process_resident_memory_bytes", "Memory the server holds"),
    ("holdfast_process_open_fds", "Open file descriptors"),
    ("holdfast_uptime_seconds", "Time since the server started"),
];

const REQUESTS: &str = "holdfast_http_requests_total";
const VITALS: [&str; 3] =
    ["holdfast_web_vitals_lcp_seconds", "holdfast_web_vitals_inp_seconds", "holdfast_web_vitals_cls"];
const DURATION: &str = "holdfast_http_request_duration_seconds";

/// Minutes of requests kept for the in-process alerts (their window is five).
const WINDOW_MINUTES: u64 = 5;

/// One minute of answered requests: how many, how many failed (5xx), and their latencies by
/// bucket of [`LATENCY_BUCKETS`] (the last slot: slower than all of them).
#[derive(Debug, Clone, Copy, Default)]
struct Minute {
    index: u64,
    total: u64,
    errors: u64,
    buckets: Buckets,
}

/// The requests of the last minutes, summed: what the in-process alerts look at.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RecentRequests {
    pub total: u64,
    pub errors: u64,
    /// The 95th percentile's bucket bound, in seconds (an upper estimate), if any request.
    pub p95_seconds: Option<f64>,
}

/// At most this many page routes are told apart in the Web Vitals (later ones count as
/// `other`), so a client can't grow the metrics without bound.
const VITALS_ROUTES: usize = 200;

/// One page view's Web Vitals, as a browser reported them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vitals {
    pub lcp_seconds: f64,
    /// `None` when nobody interacted with the page.
    pub inp_seconds: Option<f64>,
    pub cls: f64,
}

/// What the weekly performance report measures, each against its target (seconds, p95).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measure {
    /// A page's largest paint, as browsers report it (target 2 s).
    PageLoad,
    /// A page's slowest interaction (target 0.5 s).
    Interaction,
    /// An API route's answer time (target 0.3 s).
    Api,
}

impl Measure {
    pub fn target_seconds(self) -> f64 {
        match self {
            Measure::PageLoad => 2.0,
            Measure::Interaction => 0.5,
            Measure::Api => 0.3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Measure::PageLoad => "page load",
            Measure::Interaction => "interaction",
            Measure::Api => "API answer",
        }
    }
}

/// Counts per latency bucket (the last one past the largest bound).
pub type Buckets = [u64; LATENCY_BUCKETS.len() + 1];

/// The upper bound of the bucket holding the `percent`th percentile (an upper estimate), or
/// `None` when nothing was counted.
pub fn percentile(buckets: &Buckets, percent: u64) -> Option<f64> {
    let total: u64 = buckets.iter().sum();
    let wanted = (total * percent).div_ceil(100);
    let mut seen = 0;
    (total > 0).then(|| {
        let at = buckets.iter().position(|count| {
            seen += count;
            seen >= wanted
        });
        at.and_then(|i| LATENCY_BUCKETS.get(i).copied()).unwrap_or(f64::INFINITY)
    })
}

fn bucket_of(seconds: f64) -> usize {
    LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(LATENCY_BUCKETS.len())
}

/// The metrics of one server.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    started: std::time::Instant,
    recent: std::sync::Mutex<std::collections::VecDeque<Minute>>,
    vitals_routes: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Since the last weekly report: counts per measure and route (page routes are bounded
    /// like the Web Vitals', API routes are the router's templates).
    week: std::sync::Mutex<std::collections::BTreeMap<(Measure, String), Buckets>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        let recorder =
            PrometheusBuilder::new().set_buckets(&LATENCY_BUCKETS).expect("buckets are not empty").build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics {
            recorder,
            handle,
            started: std::time::Instant::now(),
            recent: Default::default(),
            vitals_routes: Default::default(),
            week: Default::default(),
        };
        metrics.describe_counter(REQUESTS, "HTTP requests answered, by route template, method and status");
        metrics.describe_histogram(DURATION, Unit::Seconds, "Time to answer, by route template and method");
        metrics.describe_counter("holdfast_uploads_total", "Uploads stored (by scan state) or refused as infected");
        metrics.describe_counter("holdfast_sign_in_failures_total", "Failed sign-ins (wrong password or code)");
        metrics.describe_counter("holdfast_rate_limited_total", "Requests refused by a rate limit");
        metrics.describe_histogram(
            VITALS[0],
            Unit::Seconds,
            "Largest contentful paint reported by browsers, by page route",
        );
        metrics.describe_histogram(VITALS[1], Unit::Seconds, "Slowest interaction reported by browsers, by page route");
        metrics.describe_histogram(
            VITALS[2],
            Unit::Count,
            "Cumulative layout shift reported by browsers, by page route",
        );
        for (name, help) in GAUGES {
            metrics.recorder.describe_gauge(KeyName::from_const_str(name), None, SharedString::const_str(help));
        }
        metrics
    }
}

fn labels(pairs: &[(&'static str, &str)]) -> Vec<Label> {
    pairs.iter().map(|(name, value)| Label::new(*name, (*value).to_owned())).collect()
}

impl Metrics {
    fn describe_counter(&self, name: &'static str, help: &'static str) {
        self.recorder.describe_counter(KeyName::from_const_str(name), None, SharedString::const_str(help));
    }

    fn describe_histogram(&self, name: &'static str, unit: Unit, help: &'static str) {
        self.recorder.describe_histogram(KeyName::from_const_str(name), Some(unit), SharedString::const_str(help));
    }

    /// Counts one answered request and its latency. `route` is the route's template
    /// (`/contacts/{id}`), never the path, so ids don't make new series.
    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let code = status.to_string();
        let counted = Key::from_parts(REQUESTS, labels(&[("route", route), ("method", method), ("status", &code)]));
        self.recorder.register_counter(&counted, &METADATA).increment(1);
        let timed = Key::from_parts(DURATION, labels(&[("route", route), ("method", method)]));
        self.recorder.register_histogram(&timed, &METADATA).record(seconds);
        self.remember(status >= 500, seconds);
        if route.starts_with("/api/") {
            self.count_for_week(Measure::Api, route, seconds);
        }
    }

    fn count_for_week(&self, measure: Measure, route: &str, seconds: f64) {
        let mut week = self.week.lock().unwrap_or_else(|p| p.into_inner());
        week.entry((measure, route.to_owned())).or_insert([0; LATENCY_BUCKETS.len() + 1])[bucket_of(seconds)] += 1;
    }

    /// What was counted since the last call (for the weekly report), and starts again.
    pub fn take_week(&self) -> std::collections::BTreeMap<(Measure, String), Buckets> {
        std::mem::take(&mut *self.week.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn minute_now(&self) -> u64 {
        self.started.elapsed().as_secs() / 60
    }

    /// Adds a request to this minute's slot, dropping minutes past the window.
    fn remember(&self, failed: bool, seconds: f64) {
        let index = self.minute_now();
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.back().is_none_or(|m| m.index != index) {
            recent.push_back(Minute { index, ..Minute::default() });
        }
        while recent.front().is_some_and(|m| m.index + WINDOW_MINUTES <= index) {
            recent.pop_front();
        }
        let minute = recent.back_mut().expect("pushed above");
        minute.total += 1;
        minute.errors += u64::from(failed);
        minute.buckets[bucket_of(seconds)] += 1;
    }

    /// The requests of the last five minutes.
    pub fn recent_requests(&self) -> RecentRequests {
        let now = self.minute_now();
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let mut sum = Minute::default();
        for minute in recent.iter().filter(|m| m.index + WINDOW_MINUTES > now) {
            sum.total += minute.total;
            sum.errors += minute.errors;
            for (total, count) in sum.buckets.iter_mut().zip(minute.buckets) {
                *total += count;
            }
        }
        RecentRequests { total: sum.total, errors: sum.errors, p95_seconds: percentile(&sum.buckets, 95) }
    }

    /// Records one page view's Web Vitals under its route template.
    pub fn web_vitals(&self, route: &str, vitals: Vitals) {
        let route = {
            let mut known = self.vitals_routes.lock().unwrap_or_else(|p| p.into_inner());
            if known.contains(route) || (known.len() < VITALS_ROUTES && known.insert(route.to_owned())) {
                route
            } else {
                "other"
            }
        };
        let record = |name: &'static str, value: f64| {
            let key = Key::from_parts(name, labels(&[("route", route)]));
            self.recorder.register_histogram(&key, &METADATA).record(value);
        };
        record(VITALS[0], vitals.lcp_seconds);
        self.count_for_week(Measure::PageLoad, route, vitals.lcp_seconds);
        if let Some(inp) = vitals.inp_seconds {
            record(VITALS[1], inp);
            self.count_for_week(Measure::Interaction, route, inp);
        }
        record(VITALS[2], vitals.cls);
    }

    /// Adds one to the counter `name` with `labels`.
    pub fn count(&self, name: &'static str, labels_: &[(&'static str, &str)]) {
        self.recorder.register_counter(&Key::from_parts(name, labels(labels_)), &METADATA).increment(1);
    }

    /// Sets the gauge `name` (one of [`GAUGES`], read at scrape time).
    pub fn gauge(&self, name: &'static str, value: f64) {
        debug_assert!(GAUGES.iter().any(|(known, _)| *known == name), "{name} is described in GAUGES");
        self.recorder.register_gauge(&Key::from_name(name), &METADATA).set(value);
    }

    /// Everything recorded, in Prometheus' text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds the latency samples recorded since the last call into their histograms, so a
    /// server nobody scrapes does not keep them (called every minute).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// The process's resident memory and open file descriptors (Linux's `/proc/self`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessStats {
    pub resident_bytes: Option<u64>,
    pub open_fds: Option<u64>,
}

impl ProcessStats {
    pub fn read() -> ProcessStats {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let resident_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
        let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|fds| fds.count() as u64);
        ProcessStats { resident_bytes: resident_kib.map(|kib| kib * 1024), open_fds }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn requests_are_counted_by_template_and_timed_in_buckets() {
        let metrics = super::Metrics::default();
        metrics.http_request("/contacts/{id}", "GET", 200, 0.003);
        metrics.http_request("/contacts/{id}", "GET", 200, 0.2);
        let text = metrics.render();
        assert!(
            text.contains(r#"holdfast_http_requests_total{route="/contacts/{id}",method="GET",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"holdfast_http_request_duration_seconds_bucket{route="/contacts/{id}",method="GET",le="0.005"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE holdfast_http_request_duration_seconds histogram"), "{text}");
        metrics.http_request("/contacts/{id}", "GET", 503, 0.004);
        let recent = metrics.recent_requests();
        assert_eq!((recent.total, recent.errors, recent.p95_seconds), (3, 1, Some(0.25)));
    }

    #[test]
    fn page_routes_beyond_the_cap_count_as_other() {
        let metrics = super::Metrics::default();
        let vitals = super::Vitals { lcp_seconds: 0.5, inp_seconds: None, cls: 0.0 };
        for i in 0..super::VITALS_ROUTES + 5 {
            metrics.web_vitals(&format!("/page{i}"), vitals);
        }
        let text = metrics.render();
        assert!(text.contains(r#"holdfast_web_vitals_lcp_seconds_count{route="other"} 5"#), "{text}");
        assert!(!text.contains(r#"route="/page200""#));
    }
}
