//! Memory of the request limiters under a flood from 1,000,000 distinct client addresses.
//!
//! `cargo bench --bench limiter_memory` — prints resident memory before and after, and how many
//! keys the limiter tracks (capped at `MAX_KEYS`; the rest share the overflow bucket).

use std::net::IpAddr;

use holdfast::app::rate_limit::{LimitKey, Limiters, MAX_KEYS, RateLimitPolicy};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

fn main() {
    let limiters = Limiters::new(RateLimitPolicy::default());
    let before = rss_kib();
    let started = std::time::Instant::now();
    for n in 0u32..1_000_000 {
        limiters.unauthenticated.check(LimitKey::Address(IpAddr::from(n.wrapping_mul(2_654_435_761).to_be_bytes())));
    }
    let elapsed = started.elapsed();
    let after = rss_kib();
    println!(
        "1,000,000 distinct addresses in {:.2} s ({:.0} checks/s): tracked keys {} (cap {MAX_KEYS}); RSS {before} KiB -> {after} KiB (+{} KiB)",
        elapsed.as_secs_f64(),
        1_000_000.0 / elapsed.as_secs_f64(),
        limiters.unauthenticated.tracked_keys(),
        after.saturating_sub(before),
    );
}
