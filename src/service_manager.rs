//! Telling systemd how the server is doing (`Type=notify`): ready once it listens, a watchdog
//! ping while the store answers, stopping when asked to. Without systemd (no `NOTIFY_SOCKET`)
//! every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::watch;

use crate::app::App;

/// The server listens and serves.
pub fn ready() {
    let _ = sd_notify::notify(false, &[NotifyState::Ready]);
}

/// The server is shutting down.
pub fn stopping() {
    let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
}

/// Pings systemd's watchdog at half its interval, as long as the store answers a read: a
/// server whose store is stuck is restarted rather than left hanging.
pub async fn keep_watchdog(app: App, mut stopped: watch::Receiver<()>) {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_micros(usec / 2));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if app.store().read_now(|_| Ok(())).is_ok() {
                    let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
                }
            }
            _ = stopped.changed() => return,
        }
    }
}
