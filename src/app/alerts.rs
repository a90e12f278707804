//! Unusual activity: bursts of failed sign-ins, lock-outs, sign-ins from new addresses and
//! rate-limit storms become audit entries (shown on the security page).

use std::sync::Mutex;

use super::App;
use super::audit::{AuditEvent, SERVER_CHAIN, record_server};
use super::auth::ClientInfo;
use crate::domain::ids::WorkspaceId;

crate::app::service! {
    /// Security alerts: recorded, then sent to the webhook.
    Alerts
}

/// Refused requests per minute, server-wide, that count as a storm.
pub const STORM_PER_MINUTE: u32 = 200;

/// Counts refused requests per minute and reports each storm once.
#[derive(Debug, Default)]
pub struct StormDetector(Mutex<(i64, u32)>);

impl StormDetector {
    /// Counts one refusal; true exactly when this minute's count reaches the threshold.
    fn count(&self, now: i64) -> bool {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let minute = now / 60;
        if state.0 != minute {
            *state = (minute, 0);
        }
        state.1 += 1;
        state.1 == STORM_PER_MINUTE
    }
}

impl Alerts<'_> {
    /// Called for every request refused by a rate limit.
    pub fn note_rate_limited(&self) {
        if self.storms().count(self.now()) {
            self.raise(SERVER_CHAIN, AuditEvent::new("security.rate_limit_storm", None).failed());
        }
    }

    /// Records an alert in `workspace`'s audit chain, off the request path.
    pub(crate) fn raise(&self, workspace: WorkspaceId, event: AuditEvent) {
        tracing::warn!(event = event.event, "security alert");
        let payload = super::webhook::AlertPayload {
            event: event.event.to_owned(),
            workspace: workspace.to_string(),
            at: self.now(),
            target: event.target.clone(),
            ip: event.client.as_ref().map(|c| c.ip.clone()),
        };
        let app = App::clone(self);
        // Recorded first, then sent: whatever receives the webhook finds it in the audit log.
        tokio::spawn(async move {
            let now = app.now();
            if let Err(e) = app.store().write(move |txn| record_server(txn, &workspace, now, event)).await {
                tracing::error!(code = %e.code(), "alert not recorded");
            }
            app.webhooks().queue(payload);
        });
    }

    /// Called when an address first reaches its hourly failure limit.
    pub(crate) fn failure_burst(&self, workspace: Option<WorkspaceId>, client: &ClientInfo) {
        let event = AuditEvent::new("security.sign_in_burst", None).target(&client.ip).from_client(client).failed();
        self.raise(workspace.unwrap_or(SERVER_CHAIN), event);
    }
}
