//! Request reminders: once a minute the schedule (a table keyed by each open request's next
//! reminder time) is read up to now. Each due request is moved to its next reminder in the
//! same transaction that decides to send, so a reminder is sent at most once — across
//! restarts too — and one missed while the server was down goes out once, late.

use super::Portal;
use super::notify::reachable_clients;
use crate::app::audit::{AuditEvent, record};
use crate::app::store::portal::DueReminder;
use crate::domain::email::EmailAddress;
use crate::domain::portal::reminder_at;
use crate::error::AppError;

/// Requests reminded per run at most (the rest wait a minute).
const PER_RUN: usize = 200;

/// One reminder to send, decided and recorded.
struct Reminder {
    to: Vec<EmailAddress>,
    firm: String,
    title: String,
    due: String,
    path: String,
}

impl Portal<'_> {
    /// Sends every reminder due by now; answers how many requests were reminded.
    pub async fn send_due_reminders(&self) -> Result<usize, AppError> {
        let now = self.now();
        let due = self.store().read_now(|txn| txn.due_reminders(now, PER_RUN))?;
        let mut sent = 0;
        for entry in due {
            let Some(reminder) = self.store().write(move |txn| decide(txn, &entry, now)).await? else { continue };
            sent += 1;
            for to in reminder.to {
                let body = format!(
                    "A reminder from {}: the request \"{}\" is due on {}.\n\nOpen it in your client portal:\n{}{}\n",
                    reminder.firm,
                    reminder.title,
                    reminder.due,
                    self.public_origin().unwrap_or_default(),
                    reminder.path
                );
                let subject = format!("{}: reminder — \"{}\" is due {}", reminder.firm, reminder.title, reminder.due);
                if let Err(e) = self.email().send_as(&reminder.firm, &to, &subject, body).await {
                    tracing::warn!(code = %e.code(), detail = e.detail().unwrap_or(""), "reminder email not sent");
                }
            }
        }
        Ok(sent)
    }
}

/// Moves one due request to its next reminder and answers what to send now (nothing when it
/// is gone or done).
fn decide(
    txn: &crate::app::store::ServerWrite<'_>,
    entry: &DueReminder,
    now: i64,
) -> Result<Option<Reminder>, AppError> {
    let site = txn.reminder_site(entry);
    let portal = site.portal(entry.company);
    let Some(before) = portal.request(&entry.request)? else {
        txn.forget_reminder(entry)?;
        return Ok(None);
    };
    let Some(mut stage) = before.next_reminder else {
        txn.forget_reminder(entry)?;
        return Ok(None);
    };
    let mut after = before.clone();
    if !before.open() {
        after.next_reminder = None;
        portal.put_request(Some(&before), &after)?;
        return Ok(None);
    }
    if reminder_at(before.due, stage) > now {
        return Ok(None);
    }
    // Several reminders passed while the server was down: send the latest, once.
    while reminder_at(before.due, stage + 1) <= now {
        stage += 1;
    }
    after.next_reminder = Some(stage + 1);
    portal.put_request(Some(&before), &after)?;
    let event = AuditEvent::new("portal.reminder_sent", None)
        .target(format!("request:{}", before.id))
        .fields(&[&format!("company:{}", entry.company), &format!("stage={stage}")]);
    record(&site, now, event)?;
    Ok(Some(Reminder {
        to: reachable_clients(site.users()?, &entry.company),
        firm: site.workspace_name()?,
        title: before.title,
        due: before.due.to_string(),
        path: format!("/portal/requests/{}", before.id),
    }))
}
