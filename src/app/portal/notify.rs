//! The portal's emails, each with the firm's name: invitations, "something new" to a company's
//! clients, "a client did something" to the company's owner, and request reminders. None
//! carries what was written or shared — only that there is something, and the link to it.

use super::Portal;
use crate::app::auth::IssuedLink;
use crate::app::store::rows::UserRecord;
use crate::domain::crm::Company;
use crate::domain::email::EmailAddress;
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::domain::role::Role;

/// Sends the portal's emails (see the module doc).
pub(super) struct Notify<'a>(&'a crate::app::App);

impl Portal<'_> {
    pub(super) fn notify(&self) -> Notify<'_> {
        Notify(self.0)
    }
}

/// `origin + path`, or the path alone when no public address is configured.
fn link(app: &crate::app::App, path: &str) -> String {
    format!("{}{path}", app.public_origin().unwrap_or_default())
}

/// Clients of `company` who can sign in.
pub(super) fn reachable_clients(users: Vec<UserRecord>, company: &RecordId) -> Vec<EmailAddress> {
    users
        .into_iter()
        .filter(|u| u.role == Role::Client && u.company == Some(*company) && !u.disabled && u.password_hash.is_some())
        .map(|u| u.email)
        .collect()
}

impl Notify<'_> {
    /// The invitation to a client (sent only when the link can be absolute).
    pub fn invitation(&self, to: EmailAddress, firm: &str, issued: &IssuedLink) {
        if self.0.public_origin().is_none() {
            return;
        }
        let body = format!(
            "{firm} invited you to its client portal, where you can see the documents {firm} shares with you, \
             answer its requests and write to it.\n\nTo choose your password, open this link within 72 hours:\n{}\n",
            link(self.0, &issued.path)
        );
        let subject = format!("{firm} invites you to its client portal");
        self.0.email().send_in_background_as(firm.to_owned(), to, subject, body);
    }

    /// Tells the company's clients there is `what` ("a new request") at `path`.
    pub async fn clients_of(&self, workspace: WorkspaceId, company: RecordId, what: &str, path: &str) {
        let found = self.0.store().read(move |txn| {
            let users = txn.users_of(&workspace)?;
            let firm = txn.workspace_named(&workspace)?;
            Ok((reachable_clients(users, &company), firm))
        });
        let (recipients, firm) = match found.await {
            Ok(found) => found,
            Err(e) => return tracing::warn!(code = %e.code(), "portal email recipients unreadable"),
        };
        for to in recipients {
            let body = format!("{firm} has {what} for you in its client portal:\n{}\n", link(self.0, path));
            let subject = format!("{firm}: {what} in your client portal");
            self.0.email().send_in_background_as(firm.clone(), to, subject, body);
        }
    }

    /// Tells the company's owner (or, failing them, the workspace's owners) what a client did.
    pub fn firm(&self, owner: Option<EmailAddress>, company: &Company, summary: &str) {
        let Some(to) = owner else { return };
        let body = format!(
            "In the client portal of {}: {summary}.\n\nOpen the company's portal page:\n{}\n",
            company.name,
            link(self.0, &format!("/companies/{}/portal", company.id))
        );
        self.0.email().send_in_background(to, format!("Client portal: {}", company.name), body);
    }
}

/// Who hears of a client's activity: the company's owner, else the first active owner.
pub(super) fn firm_contact(users: &[UserRecord], company: &Company) -> Option<EmailAddress> {
    let active = |u: &&UserRecord| !u.disabled && u.password_hash.is_some();
    users
        .iter()
        .filter(active)
        .find(|u| u.id == company.owner_id)
        .or_else(|| users.iter().filter(active).find(|u| u.role == Role::Owner))
        .map(|u| u.email.clone())
}
