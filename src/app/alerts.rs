//! Unusual activity: bursts of failed sign-ins, lock-outs, sign-ins from new addresses and
//! rate-limit storms (and the operational alerts) become audit entries (shown on the security
//! page), webhook calls and emails to the server's owners and admins.

use std::sync::Mutex;

use super::App;
use super::audit::{AuditEvent, SERVER_CHAIN, record_server};
use super::auth::ClientInfo;
use crate::domain::ids::WorkspaceId;

crate::app::service! {
    /// Security alerts: recorded, then sent to the webhook.
    Alerts
}

/// The same alert is emailed at most once in this many seconds (a storm is one email).
const EMAIL_EVERY: i64 = 3600;

/// When each alert was last emailed, by its event name.
#[derive(Debug, Default)]
pub struct Emailed(Mutex<std::collections::HashMap<&'static str, i64>>);

impl Emailed {
    /// True when `event` was not emailed within the last hour (and notes it as emailed now).
    fn due(&self, event: &'static str, now: i64) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match last.get(event) {
            Some(at) if now - at < EMAIL_EVERY => false,
            _ => {
                last.insert(event, now);
                true
            }
        }
    }
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
        let name = event.event;
        // Recorded first, then sent: whatever receives the webhook finds it in the audit log.
        tokio::spawn(async move {
            let now = app.now();
            if let Err(e) = app.store().write(move |txn| record_server(txn, &workspace, now, event)).await {
                tracing::error!(code = %e.code(), "alert not recorded");
            }
            if app.emailed().due(name, now) {
                app.alerts().email_operators(&payload).await;
            }
            app.webhooks().queue(payload);
        });
    }

    /// The addresses of the home workspace's active owners and admins (who run the server).
    pub(crate) async fn operators(&self) -> Vec<crate::domain::email::EmailAddress> {
        use crate::domain::role::Role;
        let found = self.store().read(|txn| {
            let Some(home) = txn.home_workspace()? else { return Ok(Vec::new()) };
            let runs_server = |role| matches!(role, Role::Owner | Role::Admin);
            Ok(txn
                .users_of(&home)?
                .into_iter()
                .filter(|u| !u.disabled && runs_server(u.role))
                .map(|u| u.email)
                .collect())
        });
        found.await.unwrap_or_default()
    }

    /// Emails an alert to the server's owners and admins (when email is set up): what, when,
    /// where from — never more.
    async fn email_operators(&self, alert: &super::webhook::AlertPayload) {
        let operators = self.operators().await;
        let when = crate::domain::timestamps::format_utc(alert.at);
        let mut body = format!("Holdfast raised an alert: {}\nAt: {when}\n", alert.event);
        if let Some(target) = &alert.target {
            body.push_str(&format!("Concerning: {target}\n"));
        }
        if let Some(ip) = &alert.ip {
            body.push_str(&format!("From: {ip}\n"));
        }
        body.push_str("\nSee Settings → Security (recent alerts) and Settings → System.\n");
        for to in operators {
            self.email().send_in_background(to, format!("Holdfast alert: {}", alert.event), body.clone());
        }
    }

    /// Called when an address first reaches its hourly failure limit.
    pub(crate) fn failure_burst(&self, workspace: Option<WorkspaceId>, client: &ClientInfo) {
        let event = AuditEvent::new("security.sign_in_burst", None).target(&client.ip).from_client(client).failed();
        self.raise(workspace.unwrap_or(SERVER_CHAIN), event);
    }
}
