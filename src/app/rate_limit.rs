//! Abuse defences: keyed GCRA request limiters (governor) with bounded memory, and sign-in
//! failure tracking per address and per account with progressive delays. Limits are a policy in
//! the store, changed live; `rate_limit.enabled = false` turns every limiter off.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use super::store::Versioned;
use crate::domain::ids::UserId;
use crate::error::{AppError, ErrorCode};

/// The settings key.
pub(crate) const RATE_LIMIT_POLICY: &str = "rate_limit";

/// Request and sign-in limits (defaults suit an office of 50 behind one address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitPolicy {
    /// Off only for load tests and recovery (the settings page warns loudly).
    pub enabled: bool,
    pub unauthenticated_per_minute: u32,
    pub unauthenticated_burst: u32,
    pub authenticated_per_minute: u32,
    pub authenticated_burst: u32,
    pub authenticated_per_hour: u32,
    /// Failed sign-in, second-factor, reset and setup attempts per hour, per address and per
    /// account (counted separately).
    pub sign_in_failures_per_hour: u32,
    /// Changes on the settings pages per hour per user.
    pub admin_changes_per_hour: u32,
    /// File uploads (imports, attachments) per hour per user.
    pub uploads_per_hour: u32,
    /// Exports (CSV, vCard, audit, backups) per hour per user.
    pub exports_per_hour: u32,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            unauthenticated_per_minute: 100,
            unauthenticated_burst: 120,
            authenticated_per_minute: 100,
            authenticated_burst: 120,
            authenticated_per_hour: 5000,
            sign_in_failures_per_hour: 20,
            admin_changes_per_hour: 30,
            uploads_per_hour: 50,
            exports_per_hour: 10,
        }
    }
}

impl Versioned for RateLimitPolicy {
    const VERSION: u16 = 1;
}

impl RateLimitPolicy {
    pub fn validate(&self) -> Result<(), AppError> {
        let fields = [
            (self.unauthenticated_per_minute, "unauthenticated_per_minute"),
            (self.unauthenticated_burst, "unauthenticated_burst"),
            (self.authenticated_per_minute, "authenticated_per_minute"),
            (self.authenticated_burst, "authenticated_burst"),
            (self.authenticated_per_hour, "authenticated_per_hour"),
            (self.sign_in_failures_per_hour, "sign_in_failures_per_hour"),
            (self.admin_changes_per_hour, "admin_changes_per_hour"),
            (self.uploads_per_hour, "uploads_per_hour"),
            (self.exports_per_hour, "exports_per_hour"),
        ];
        for (value, field) in fields {
            if !(1..=1_000_000).contains(&value) {
                return Err(AppError::field(ErrorCode::InvalidFormat, field));
            }
        }
        Ok(())
    }
}

/// Who a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKey {
    Address(IpAddr),
    User(UserId),
    /// New keys while the table is full share this one bucket, so a flood from millions of
    /// addresses can neither grow memory nor reset anyone's existing bucket.
    Overflow,
}

/// Keys each limiter tracks at most (~100 bytes each).
pub const MAX_KEYS: usize = 100_000;

/// The outcome of a limit check, for the response headers.
#[derive(Debug, Clone, Copy)]
pub struct LimitState {
    /// Requests the bucket holds when full (its burst): `remaining` never exceeds it.
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again (or, when refused, until the next request).
    pub reset_seconds: u64,
    pub allowed: bool,
}

/// A keyed GCRA limiter with a hard cap on tracked keys.
pub struct BoundedLimiter {
    limiter: DefaultKeyedRateLimiter<LimitKey, StateInformationMiddleware>,
    /// Requests per period, sustained.
    limit: u32,
    /// Requests the bucket holds: what the headers call the limit.
    burst: u32,
    period: Duration,
    /// When the table was last swept because it was full, so a flood of new keys can't make
    /// every request pay for a full sweep.
    last_full_sweep: Mutex<Option<std::time::Instant>>,
}

/// A full table is swept at most this often; meanwhile new keys share the overflow bucket.
const FULL_SWEEP_EVERY: Duration = Duration::from_secs(1);

impl BoundedLimiter {
    fn new(per_period: u32, burst: u32, period: Duration) -> Self {
        let cells = NonZeroU32::new(per_period.max(1)).expect("at least 1");
        let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
        let quota = Quota::with_period(period / cells.get()).expect("non-zero period").allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            limit: per_period,
            burst: burst.get(),
            period,
            last_full_sweep: Mutex::new(None),
        }
    }

    /// Counts one request for `key`.
    pub fn check(&self, key: LimitKey) -> LimitState {
        let key = self.admit(key);
        let per_cell = self.period / self.limit.max(1);
        match self.limiter.check_key(&key) {
            Ok(snapshot) => self.state(&snapshot, per_cell),
            Err(refused) => {
                let wait = refused.wait_time_from(governor::clock::Clock::now(self.limiter.clock()));
                LimitState { limit: self.burst, remaining: 0, reset_seconds: wait.as_secs() + 1, allowed: false }
            }
        }
    }

    fn state(&self, snapshot: &StateSnapshot, per_cell: Duration) -> LimitState {
        let remaining = snapshot.remaining_burst_capacity();
        let used = snapshot.quota().burst_size().get().saturating_sub(remaining);
        LimitState { limit: self.burst, remaining, reset_seconds: (per_cell * used).as_secs(), allowed: true }
    }

    /// Keeps the key table under `MAX_KEYS`: first drop keys whose buckets are full again;
    /// if that isn't enough, new keys go to the shared overflow bucket.
    fn admit(&self, key: LimitKey) -> LimitKey {
        if self.limiter.len() < MAX_KEYS {
            return key;
        }
        let due = {
            let mut last = self.last_full_sweep.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.is_none_or(|at| at.elapsed() >= FULL_SWEEP_EVERY);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        if due {
            self.sweep();
        }
        if self.limiter.len() < MAX_KEYS { key } else { LimitKey::Overflow }
    }

    /// Drops keys whose buckets are full again (run periodically).
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    pub fn tracked_keys(&self) -> usize {
        self.limiter.len()
    }
}

/// The request limiters built from one policy; rebuilt when the policy changes.
pub struct Limiters {
    pub policy: RateLimitPolicy,
    pub unauthenticated: BoundedLimiter,
    pub per_minute: BoundedLimiter,
    pub per_hour: BoundedLimiter,
    pub admin_changes: BoundedLimiter,
    pub uploads: BoundedLimiter,
    pub exports: BoundedLimiter,
}

/// Per-user hourly budgets for expensive actions, taken by the services that do them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Upload,
    Export,
}

impl Limiters {
    pub fn new(policy: RateLimitPolicy) -> Self {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        Self {
            unauthenticated: BoundedLimiter::new(
                policy.unauthenticated_per_minute,
                policy.unauthenticated_burst,
                minute,
            ),
            per_minute: BoundedLimiter::new(policy.authenticated_per_minute, policy.authenticated_burst, minute),
            per_hour: BoundedLimiter::new(policy.authenticated_per_hour, policy.authenticated_per_hour, hour),
            admin_changes: BoundedLimiter::new(policy.admin_changes_per_hour, policy.admin_changes_per_hour, hour),
            uploads: BoundedLimiter::new(policy.uploads_per_hour, policy.uploads_per_hour, hour),
            exports: BoundedLimiter::new(policy.exports_per_hour, policy.exports_per_hour, hour),
            policy,
        }
    }

    pub fn sweep(&self) {
        for limiter in
            [&self.unauthenticated, &self.per_minute, &self.per_hour, &self.admin_changes, &self.uploads, &self.exports]
        {
            limiter.sweep();
        }
    }
}

impl Limiters {
    /// Takes one unit of `user`'s hourly `budget` (E4001 when spent; always allowed when
    /// rate limiting is off).
    pub fn take(&self, budget: Budget, user: UserId) -> Result<(), AppError> {
        if !self.policy.enabled {
            return Ok(());
        }
        let limiter = match budget {
            Budget::Upload => &self.uploads,
            Budget::Export => &self.exports,
        };
        if limiter.check(LimitKey::User(user)).allowed { Ok(()) } else { Err(ErrorCode::TooManyRequests.into()) }
    }
}

/// Consecutive failures from which each further attempt waits (30 s, doubling to 15 min).
pub const DELAY_FROM_FAILURE: u32 = 5;
const FIRST_DELAY_SECONDS: i64 = 30;
const MAX_DELAY_SECONDS: i64 = 15 * 60;
const WINDOW_SECONDS: i64 = 3600;

#[derive(Debug, Default)]
struct FailureEntry {
    /// Failure times within the last hour (at most the hourly limit is kept).
    recent: VecDeque<i64>,
    consecutive: u32,
    last: i64,
}

/// Failed attempts by key (an address or an account's email), in memory and bounded. The same
/// rules apply to unknown accounts as to real ones, so a lock-out reveals nothing.
#[derive(Debug, Default)]
pub struct FailureTracker {
    entries: Mutex<HashMap<String, FailureEntry>>,
}

impl FailureTracker {
    /// If `key` may not try now, until when (Unix seconds).
    pub fn blocked_until(&self, key: &str, now: i64, per_hour: u32, progressive: bool) -> Option<i64> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get_mut(key)?;
        while entry.recent.front().is_some_and(|&t| t <= now - WINDOW_SECONDS) {
            entry.recent.pop_front();
        }
        let hourly = (entry.recent.len() >= per_hour as usize)
            .then(|| entry.recent.front().copied().unwrap_or(now) + WINDOW_SECONDS);
        let delayed = (progressive && entry.consecutive >= DELAY_FROM_FAILURE).then(|| {
            let doublings = (entry.consecutive - DELAY_FROM_FAILURE).min(10);
            entry.last + (FIRST_DELAY_SECONDS << doublings).min(MAX_DELAY_SECONDS)
        });
        hourly.into_iter().chain(delayed).filter(|&until| until > now).max()
    }

    pub fn record_failure(&self, key: &str, now: i64, per_hour: u32) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            entries.retain(|_, e| e.last > now - WINDOW_SECONDS);
            if entries.len() >= MAX_KEYS {
                // Still full of recent failures: forget the oldest half rather than grow.
                let mut lasts: Vec<i64> = entries.values().map(|e| e.last).collect();
                lasts.sort_unstable();
                let cutoff = lasts[lasts.len() / 2];
                entries.retain(|_, e| e.last > cutoff);
            }
        }
        let entry = entries.entry(key.to_owned()).or_default();
        entry.recent.push_back(now);
        while entry.recent.len() > per_hour as usize {
            entry.recent.pop_front();
        }
        entry.consecutive += 1;
        entry.last = now;
    }

    /// A success ends the run of consecutive failures (the hourly count stays).
    pub fn record_success(&self, key: &str) {
        if let Some(entry) = self.entries.lock().unwrap_or_else(|p| p.into_inner()).get_mut(key) {
            entry.consecutive = 0;
        }
    }

    /// Forgets a key entirely (admin unlock, completed password reset).
    pub fn clear(&self, key: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    pub fn tracked_keys(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limiter_trips_at_its_burst_and_reports_state() {
        let limiter = BoundedLimiter::new(4, 5, Duration::from_secs(60));
        let key = LimitKey::Address("10.0.0.1".parse().unwrap());
        for expected in (0..5).rev() {
            let state = limiter.check(key);
            assert!(state.allowed);
            assert_eq!(state.remaining, expected);
            assert_eq!(state.limit, 5, "the limit is what the bucket holds: remaining never exceeds it");
        }
        let refused = limiter.check(key);
        assert!(!refused.allowed && refused.reset_seconds >= 1 && refused.reset_seconds <= 16);
        assert!(limiter.check(LimitKey::Address("10.0.0.2".parse().unwrap())).allowed, "other keys are separate");
    }

    #[test]
    fn hourly_budgets_are_per_user_and_off_when_limits_are_off() {
        let policy = RateLimitPolicy { exports_per_hour: 2, ..RateLimitPolicy::default() };
        let limiters = Limiters::new(policy.clone());
        let (ann, bob) = (UserId::random(), UserId::random());
        assert!(limiters.take(Budget::Export, ann).is_ok() && limiters.take(Budget::Export, ann).is_ok());
        assert_eq!(limiters.take(Budget::Export, ann).unwrap_err().code(), ErrorCode::TooManyRequests);
        assert!(limiters.take(Budget::Export, bob).is_ok());
        assert!(limiters.take(Budget::Upload, ann).is_ok(), "budgets are separate");
        let off = Limiters::new(RateLimitPolicy { enabled: false, ..policy });
        for _ in 0..5 {
            assert!(off.take(Budget::Export, ann).is_ok());
        }
    }

    #[test]
    fn a_million_distinct_keys_stay_within_the_cap() {
        let limiter = BoundedLimiter::new(100, 120, Duration::from_secs(60));
        for n in 0u32..1_000_000 {
            limiter.check(LimitKey::Address(IpAddr::from(n.to_be_bytes())));
        }
        assert!(limiter.tracked_keys() <= MAX_KEYS + 1, "{} keys", limiter.tracked_keys());
    }

    #[test]
    fn failures_delay_progressively_and_cap_per_hour() {
        let tracker = FailureTracker::default();
        let mut now = 1_000_000;
        for _ in 0..4 {
            tracker.record_failure("ann@example.com", now, 20);
        }
        assert_eq!(tracker.blocked_until("ann@example.com", now, 20, true), None, "four failures: no delay yet");
        tracker.record_failure("ann@example.com", now, 20);
        assert_eq!(tracker.blocked_until("ann@example.com", now, 20, true), Some(now + 30));
        now += 31;
        tracker.record_failure("ann@example.com", now, 20);
        assert_eq!(tracker.blocked_until("ann@example.com", now, 20, true), Some(now + 60), "doubling");
        tracker.record_success("ann@example.com");
        assert_eq!(tracker.blocked_until("ann@example.com", now, 20, true), None, "success resets the run");

        for _ in 0..20 {
            tracker.record_failure("10.0.0.9", now, 20);
        }
        assert_eq!(tracker.blocked_until("10.0.0.9", now, 20, false), Some(now + 3600), "20 per hour");
        assert_eq!(tracker.blocked_until("10.0.0.9", now + 3600, 20, false), None, "the hour passes");
    }
}
