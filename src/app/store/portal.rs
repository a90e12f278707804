//! The client portal's rows: per company, the documents shared with it, the firm's requests,
//! the message thread and each client's read marks — each row sealed whole under the keyring,
//! every key starting `workspace ‖ company` — plus the workspace's activity feed, the
//! members' seen marks and the reminder schedule.
//!
//! Staff reach a company's rows through [`WorkspaceTx::portal`]; a client through
//! [`ClientTx::portal`](super::scoped::ClientTx), which names their own company and offers no
//! way to read an internal note.

use redb::{ReadableTable, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::access::{get, put};
use super::codec::Versioned;
use super::key_layout::{prefix_end, tenant_key};
use super::oplog::Logged;
use super::scoped::{ServerTx, Txn, WorkspaceTx};
use super::tables::{PORTAL, PORTAL_ACTIVITY, PORTAL_DUE, PORTAL_SEEN};
use super::{sealed, storage};
use crate::app::keyring::Keyring;
use crate::domain::fields::Day;
use crate::domain::ids::{RecordId, UserId, WorkspaceId};
use crate::domain::portal::ItemState;
use crate::error::{AppError, ErrorCode};

/// Kind byte of sealed portal rows (record kinds use 1–5, snapshots and file keys 0xf1–0xf3).
const PORTAL_ROW: u8 = 0xf4;

/// The parts of a company's portal, the byte after `workspace ‖ company` in a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Share = 1,
    Request = 2,
    Message = 3,
    Marks = 4,
}

/// A file of the company's attachments, shared with its clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    pub file: RecordId,
    pub shared_by: UserId,
    pub shared_at: i64,
    /// Who confirmed having read it, newest last.
    pub receipts: Vec<Receipt>,
}

/// A client's acknowledgement of a shared document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    pub user: UserId,
    pub at: i64,
    pub ip: String,
    /// SHA-256 of the file's bytes as acknowledged (hex).
    pub sha256: String,
}

/// A checklist the firm asked the client to complete by a date.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocRequest {
    pub id: RecordId,
    pub title: String,
    pub due: Day,
    pub created_by: UserId,
    pub created_at: i64,
    pub items: Vec<RequestItem>,
    /// The next reminder's stage (see `domain::portal::reminder_at`); `None` once done.
    pub next_reminder: Option<u32>,
}

impl DocRequest {
    /// Whether the client still has something to do.
    pub fn open(&self) -> bool {
        self.items.iter().any(|item| item.state.awaits_client())
    }
}

/// One line of a request and its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestItem {
    pub text: String,
    pub state: ItemState,
    pub answer_text: Option<String>,
    pub answer_file: Option<RecordId>,
    pub answered_by: Option<UserId>,
    pub answered_at: Option<i64>,
    /// The firm's comment when it accepted or reopened the item.
    pub comment: Option<String>,
}

/// One message of a company's thread.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub id: RecordId,
    pub author: UserId,
    pub author_name: String,
    pub from_client: bool,
    /// A staff-only note: never shown to a client.
    pub internal: bool,
    pub body: String,
    pub at: i64,
}

/// What a client has seen, for "unread" and "new" on their home page.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Marks {
    pub messages_read_at: i64,
    pub documents_seen_at: i64,
}

/// Something a client did, for the firm's badge, activity page and the company's timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activity {
    pub at: i64,
    pub company: RecordId,
    pub by: UserId,
    pub by_name: String,
    /// A fixed-form line without the client's words, e.g. "uploaded a file for a request".
    pub summary: String,
}

impl Versioned for Activity {
    const VERSION: u16 = 1;
}

/// A row as stored: its JSON sealed at its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sealed {
    body: String,
}

impl Versioned for Sealed {
    const VERSION: u16 = 1;
}

/// A message id that sorts by time: the Unix time, then random bytes.
pub fn message_id(at: i64) -> RecordId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(at.max(0) as u64).to_be_bytes());
    bytes[8..].copy_from_slice(&rand::random::<[u8; 8]>());
    RecordId::from_bytes(bytes)
}

/// One company's portal inside one transaction.
pub struct CompanyPortal<'t, Tx> {
    txn: &'t Tx,
    keyring: &'t Keyring,
    workspace: WorkspaceId,
    company: RecordId,
}

impl<Tx> WorkspaceTx<'_, Tx> {
    /// The portal of one of the workspace's companies (the caller checks the company exists).
    pub(crate) fn portal(&self, company: RecordId) -> CompanyPortal<'_, Tx> {
        CompanyPortal { txn: self.txn, keyring: self.keyring, workspace: self.workspace, company }
    }
}

impl<Tx> CompanyPortal<'_, Tx> {
    fn prefix(&self, part: Part) -> Vec<u8> {
        tenant_key(&self.workspace, &[self.company.as_bytes(), &[part as u8]])
    }

    fn key(&self, part: Part, id: &[u8; 16]) -> Vec<u8> {
        [self.prefix(part), id.to_vec()].concat()
    }
}

impl<Tx: Txn> CompanyPortal<'_, Tx> {
    fn open<T: DeserializeOwned>(&self, key: &[u8], stored: Sealed) -> Result<T, AppError> {
        let json = sealed::open_text(self.keyring, key, PORTAL_ROW, &stored.body)?;
        serde_json::from_str(&json).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))
    }

    fn one<T: DeserializeOwned>(&self, part: Part, id: &[u8; 16]) -> Result<Option<T>, AppError> {
        let key = self.key(part, id);
        match get::<Sealed>(&self.txn.bytes(PORTAL)?, &key)? {
            Some(stored) => self.open(&key, stored).map(Some),
            None => Ok(None),
        }
    }

    fn all<T: DeserializeOwned>(&self, part: Part) -> Result<Vec<T>, AppError> {
        let prefix = self.prefix(part);
        let table = self.txn.bytes(PORTAL)?;
        let mut rows = Vec::new();
        for row in table.range(prefix.as_slice()..prefix_end(&prefix).as_slice()).map_err(storage)? {
            let (key, value) = row.map_err(storage)?;
            rows.push(self.open(key.value(), super::codec::decode(value.value())?)?);
        }
        Ok(rows)
    }

    pub fn shares(&self) -> Result<Vec<Share>, AppError> {
        self.all(Part::Share)
    }

    pub fn share(&self, file: &RecordId) -> Result<Option<Share>, AppError> {
        self.one(Part::Share, file.as_bytes())
    }

    pub fn requests(&self) -> Result<Vec<DocRequest>, AppError> {
        self.all(Part::Request)
    }

    pub fn request(&self, id: &RecordId) -> Result<Option<DocRequest>, AppError> {
        self.one(Part::Request, id.as_bytes())
    }

    /// The whole thread, internal notes included (staff only), oldest first.
    pub fn messages_with_internal(&self) -> Result<Vec<Message>, AppError> {
        self.all(Part::Message)
    }

    /// The thread as a client sees it: internal notes left out here, so no page, email or
    /// download of a client's can carry one.
    pub fn client_messages(&self) -> Result<Vec<Message>, AppError> {
        Ok(self.all::<Message>(Part::Message)?.into_iter().filter(|m| !m.internal).collect())
    }

    pub fn marks(&self, user: &UserId) -> Result<Marks, AppError> {
        Ok(self.one(Part::Marks, user.as_bytes())?.unwrap_or_default())
    }
}

impl CompanyPortal<'_, WriteTransaction> {
    fn put<T: Serialize>(&self, part: Part, id: &[u8; 16], row: &T) -> Result<(), AppError> {
        let key = self.key(part, id);
        let json = serde_json::to_string(row).map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
        let body = sealed::seal_text(self.keyring, &key, PORTAL_ROW, &json)?;
        put(&mut self.txn.logged(PORTAL).map_err(storage)?, &key, &Sealed { body })
    }

    pub fn put_share(&self, share: &Share) -> Result<(), AppError> {
        self.put(Part::Share, share.file.as_bytes(), share)
    }

    pub fn remove_share(&self, file: &RecordId) -> Result<bool, AppError> {
        let key = self.key(Part::Share, file.as_bytes());
        Ok(self.txn.logged(PORTAL).map_err(storage)?.remove(key.as_slice()).map_err(storage)?.is_some())
    }

    /// Saves a request and moves its place in the reminder schedule (from `before`'s).
    pub fn put_request(&self, before: Option<&DocRequest>, request: &DocRequest) -> Result<(), AppError> {
        let mut due = self.txn.logged(PORTAL_DUE).map_err(storage)?;
        if let Some(at) = before.and_then(|b| self.due_key(b)) {
            due.remove(at.as_slice()).map_err(storage)?;
        }
        if let Some(at) = self.due_key(request) {
            due.insert(at.as_slice(), ()).map_err(storage)?;
        }
        self.put(Part::Request, request.id.as_bytes(), request)
    }

    fn due_key(&self, request: &DocRequest) -> Option<Vec<u8>> {
        let stage = request.next_reminder?;
        let at = crate::domain::portal::reminder_at(request.due, stage).max(0) as u64;
        Some(
            [&at.to_be_bytes()[..], self.workspace.as_bytes(), self.company.as_bytes(), request.id.as_bytes()].concat(),
        )
    }

    pub fn put_message(&self, message: &Message) -> Result<(), AppError> {
        self.put(Part::Message, message.id.as_bytes(), message)
    }

    pub fn put_marks(&self, user: &UserId, marks: &Marks) -> Result<(), AppError> {
        self.put(Part::Marks, user.as_bytes(), marks)
    }

    /// Removes every row of the company's portal (the company was deleted).
    pub fn clear(&self) -> Result<(), AppError> {
        for request in self.requests()? {
            if let Some(at) = self.due_key(&request) {
                self.txn.logged(PORTAL_DUE).map_err(storage)?.remove(at.as_slice()).map_err(storage)?;
            }
        }
        let prefix = tenant_key(&self.workspace, &[self.company.as_bytes()]);
        let mut table = self.txn.logged(PORTAL).map_err(storage)?;
        table.retain_in(prefix.as_slice()..prefix_end(&prefix).as_slice(), |_, _| false).map_err(storage)?;
        Ok(())
    }
}

fn seen_key(workspace: &WorkspaceId, user: &UserId) -> Vec<u8> {
    tenant_key(workspace, &[user.as_bytes()])
}

fn activity_prefix(workspace: &WorkspaceId, from: i64) -> Vec<u8> {
    tenant_key(workspace, &[&(from.max(0) as u64).to_be_bytes()])
}

impl<Tx: Txn> WorkspaceTx<'_, Tx> {
    /// Until when `user` has seen the portal activity.
    pub(crate) fn portal_seen(&self, user: &UserId) -> Result<i64, AppError> {
        let table = self.txn.bytes(PORTAL_SEEN)?;
        let stored = table.get(seen_key(&self.workspace, user).as_slice()).map_err(storage)?;
        Ok(stored.and_then(|v| <[u8; 8]>::try_from(v.value()).ok()).map_or(0, i64::from_be_bytes))
    }

    /// Client activity after `after`, newest first, at most `limit`.
    pub(crate) fn portal_activity(&self, after: i64, limit: usize) -> Result<Vec<Activity>, AppError> {
        let (start, end) =
            (activity_prefix(&self.workspace, after.saturating_add(1)), prefix_end(self.workspace.as_bytes()));
        let table = self.txn.bytes(PORTAL_ACTIVITY)?;
        let mut found = Vec::new();
        for row in table.range(start.as_slice()..end.as_slice()).map_err(storage)?.rev().take(limit) {
            let (_, value) = row.map_err(storage)?;
            found.push(super::codec::decode(value.value())?);
        }
        Ok(found)
    }
}

impl WorkspaceTx<'_, WriteTransaction> {
    pub(crate) fn set_portal_seen(&self, user: &UserId, at: i64) -> Result<(), AppError> {
        let mut table = self.txn.logged(PORTAL_SEEN).map_err(storage)?;
        table.insert(seen_key(&self.workspace, user).as_slice(), at.to_be_bytes().as_slice()).map_err(storage)?;
        Ok(())
    }

    pub(crate) fn add_portal_activity(&self, activity: &Activity) -> Result<(), AppError> {
        let key = [activity_prefix(&self.workspace, activity.at), rand::random::<[u8; 8]>().to_vec()].concat();
        put(&mut self.txn.logged(PORTAL_ACTIVITY).map_err(storage)?, &key, activity)
    }
}

/// A request whose reminder is due, as the schedule names it.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub workspace: WorkspaceId,
    pub company: RecordId,
    pub request: RecordId,
    /// The schedule's key, to drop a stale entry.
    key: Vec<u8>,
}

impl ServerTx<'_, WriteTransaction> {
    /// Drops a schedule entry whose request is gone.
    pub(crate) fn forget_reminder(&self, due: &DueReminder) -> Result<(), AppError> {
        self.txn.logged(PORTAL_DUE).map_err(storage)?.remove(due.key.as_slice()).map_err(storage)?;
        Ok(())
    }
}

impl<'t, Tx: Txn> ServerTx<'t, Tx> {
    /// The requests whose next reminder is at or before `now` (at most `limit`), across every
    /// workspace.
    pub(crate) fn due_reminders(&self, now: i64, limit: usize) -> Result<Vec<DueReminder>, AppError> {
        let table = self.txn.set(PORTAL_DUE)?;
        let end = (now.max(0) as u64 + 1).to_be_bytes();
        let mut found = Vec::new();
        for row in table.range(..end.as_slice()).map_err(storage)?.take(limit) {
            let (key, _) = row.map_err(storage)?;
            let key = key.value();
            let part = |at: usize| key.get(at..at + 16).and_then(|b| <[u8; 16]>::try_from(b).ok());
            let (Some(workspace), Some(company), Some(request)) = (part(8), part(24), part(40)) else { continue };
            found.push(DueReminder {
                workspace: WorkspaceId::from_bytes(workspace),
                company: RecordId::from_bytes(company),
                request: RecordId::from_bytes(request),
                key: key.to_vec(),
            });
        }
        Ok(found)
    }

    /// The transaction as the workspace of a due reminder sees it (for the scheduler).
    pub(crate) fn reminder_site(&self, due: &DueReminder) -> WorkspaceTx<'t, Tx> {
        WorkspaceTx { txn: self.txn, workspace: due.workspace, keyring: self.keyring }
    }
}

/// Re-seals one portal row under the current key (a key rotation); whether it was rewritten.
pub(super) fn reseal_portal_row(
    txn: &WriteTransaction,
    keyring: &Keyring,
    key: &[u8],
    value: &[u8],
    target: u32,
) -> Result<bool, AppError> {
    let mut stored: Sealed = super::codec::decode(value)?;
    if !sealed::text_needs_reseal(&stored.body, target) {
        return Ok(false);
    }
    let plain = sealed::open_text(keyring, key, PORTAL_ROW, &stored.body)?;
    stored.body = sealed::seal_text(keyring, key, PORTAL_ROW, &plain)?;
    put(&mut txn.logged(PORTAL).map_err(storage)?, key, &stored)?;
    Ok(true)
}
