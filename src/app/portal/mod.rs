//! The client portal: each client company's own space in the firm's workspace — documents the
//! firm shared, the firm's requests and the client's answers, and one message thread.
//!
//! The staff side ([`staff`]) works with a member's [`TenantScope`](crate::app::auth::TenantScope)
//! and names the company; the client side ([`client`]) works with a
//! [`ClientScope`](crate::app::auth::ClientScope) alone, whose store handle reaches no other
//! company and no internal note. Reminders ([`reminders`]) and emails ([`notify`]) run on
//! their own.

mod branding;
mod client;
mod notify;
mod reminders;
mod seed;
mod staff;
mod templates;

use crate::app::files::FileRow;
use crate::app::store::portal::Receipt;
use crate::domain::ids::{RecordId, UserId};

pub use crate::app::store::portal::{Activity, DocRequest, Message, RequestItem};
pub use branding::Branding;
pub use client::{Answer, ClientHome};
pub use staff::{ClientUser, NewRequest, Review, StaffPortal};
pub use templates::RequestTemplate;

crate::app::service! {
    /// Client portals: what the firm shares and asks, what clients answer and write.
    Portal
}

/// A document shared with a company, as either side sees it.
#[derive(Debug, Clone)]
pub struct SharedDocument {
    pub file: FileRow,
    pub shared_at: i64,
    pub shared_by: String,
    pub receipts: Vec<ReceiptView>,
    /// Shared since the client last looked at their documents.
    pub new: bool,
}

/// A client's acknowledgement, with their name.
#[derive(Debug, Clone)]
pub struct ReceiptView {
    pub user: UserId,
    pub name: String,
    pub at: i64,
    pub ip: String,
    pub sha256: String,
}

/// A request with the files its answers name.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: DocRequest,
    /// The file of each item's answer, item by item.
    pub files: Vec<Option<FileRow>>,
}

impl RequestView {
    fn of(request: DocRequest, files: &[FileRow]) -> RequestView {
        let files = request
            .items
            .iter()
            .map(|item| item.answer_file.and_then(|id| files.iter().find(|f| f.id == id).cloned()))
            .collect();
        RequestView { request, files }
    }
}

/// Names of people for views: the firm's members and the company's clients.
fn name_of(people: &[crate::app::store::rows::UserRecord], id: &UserId) -> String {
    people.iter().find(|u| u.id == *id).map_or_else(|| "Someone".to_owned(), |u| u.name.clone())
}

fn receipts(people: &[crate::app::store::rows::UserRecord], receipts: &[Receipt]) -> Vec<ReceiptView> {
    receipts
        .iter()
        .map(|r| ReceiptView {
            user: r.user,
            name: name_of(people, &r.user),
            at: r.at,
            ip: r.ip.clone(),
            sha256: r.sha256.clone(),
        })
        .collect()
}

/// Requests in the order both sides list them: those awaiting the client first, by due date.
fn in_order(mut requests: Vec<DocRequest>) -> Vec<DocRequest> {
    requests.sort_by_key(|r| (!r.open(), r.due, std::cmp::Reverse(r.created_at)));
    requests
}

/// Messages newer than `after` written by someone other than `reader`.
fn unread(messages: &[Message], reader: &UserId, after: i64) -> usize {
    messages.iter().filter(|m| m.author != *reader && m.at > after).count()
}

/// Whether a file of the company may be handed to its clients: shared with them, or the
/// answer to one of their requests.
fn reachable_by_client(file: &RecordId, shared: bool, requests: &[DocRequest]) -> bool {
    shared || requests.iter().any(|r| r.items.iter().any(|item| item.answer_file == Some(*file)))
}
