//! The client's side of their company's portal. Every call takes a [`ClientScope`] and goes
//! through its store handle, which reaches their company's rows alone: an id of another
//! company — or of anything the firm did not share — is simply not found.

use sha2::{Digest, Sha256};

use super::notify::firm_contact;
use super::{Portal, RequestView, SharedDocument, in_order, name_of, reachable_by_client, receipts, unread};
use crate::app::audit::AuditEvent;
use crate::app::auth::{ClientInfo, ClientScope};
use crate::app::files::{Download, FileLink, FileRow, Intake};
use crate::app::store::ClientWrite;
use crate::app::store::portal::{Activity, DocRequest, Marks, Message, Receipt, message_id};
use crate::domain::crm::Company;
use crate::domain::ids::RecordId;
use crate::domain::portal::{self, ITEM_TEXT_MAX, ItemState, MESSAGE_MAX};
use crate::error::{AppError, ErrorCode};

/// What the client's home page shows.
#[derive(Debug, Clone)]
pub struct ClientHome {
    pub firm: String,
    pub company: String,
    /// Requests still waiting for the client, soonest due first.
    pub open_requests: Vec<DocRequest>,
    pub unread_messages: usize,
    pub new_documents: Vec<SharedDocument>,
}

/// A client's answer to one item of a request.
#[derive(Debug, Clone)]
pub enum Answer {
    Text(String),
    /// A file already taken in through [`Portal::answer_intake`].
    File(FileRow),
}

/// Where a client's download links point.
fn download_path(file: &RecordId) -> String {
    format!("/portal/documents/{file}/download")
}

impl Portal<'_> {
    /// The home page: open requests, unread messages, new documents.
    pub async fn home(&self, scope: &ClientScope) -> Result<ClientHome, AppError> {
        let me = *scope.user();
        let super::Branding { firm, company, .. } = self.branding(scope)?;
        let (requests, messages, marks) = self.store().client(scope).read_now(|txn| {
            let portal = txn.portal();
            Ok((portal.requests()?, portal.messages()?, portal.marks(&me)?))
        })?;
        let new_documents = self.shared(scope, marks)?.into_iter().filter(|d| d.new).collect();
        Ok(ClientHome {
            firm,
            company,
            open_requests: in_order(requests).into_iter().filter(DocRequest::open).collect(),
            unread_messages: unread(&messages, &me, marks.messages_read_at),
            new_documents,
        })
    }

    fn shared(&self, scope: &ClientScope, marks: Marks) -> Result<Vec<SharedDocument>, AppError> {
        let me = *scope.user();
        self.store().client(scope).read_now(|txn| {
            let mut people: Vec<_> = txn.me()?.into_iter().collect();
            let mut documents = Vec::new();
            for share in txn.portal().shares()? {
                let Some(file) = txn.company_file_row(&share.file)? else { continue };
                if !people.iter().any(|p| p.id == share.shared_by) {
                    people.extend(txn.person(&share.shared_by)?);
                }
                let mine: Vec<Receipt> = share.receipts.iter().filter(|r| r.user == me).cloned().collect();
                documents.push(SharedDocument {
                    file,
                    shared_at: share.shared_at,
                    shared_by: name_of(&people, &share.shared_by),
                    receipts: receipts(&people, &mine),
                    new: share.shared_at > marks.documents_seen_at,
                });
            }
            documents.sort_by_key(|d| std::cmp::Reverse(d.shared_at));
            Ok(documents)
        })
    }

    /// The documents shared with the client's company, newest first; marks them seen.
    pub async fn documents(&self, scope: &ClientScope) -> Result<Vec<SharedDocument>, AppError> {
        let me = *scope.user();
        let marks = self.store().client(scope).read_now(|txn| txn.portal().marks(&me))?;
        let documents = self.shared(scope, marks)?;
        let now = self.now();
        self.store()
            .client(scope)
            .write(move |txn| {
                let marks = txn.portal().marks(&me)?;
                txn.portal().put_marks(&me, &Marks { documents_seen_at: now, ..marks })
            })
            .await?;
        Ok(documents)
    }

    /// One shared document and a download link for this client alone (viewing is audited).
    pub async fn document(
        &self,
        scope: &ClientScope,
        file: RecordId,
        client: &ClientInfo,
    ) -> Result<(SharedDocument, FileLink), AppError> {
        let marks = Marks { documents_seen_at: i64::MAX, messages_read_at: 0 };
        let document = self.shared(scope, marks)?.into_iter().find(|d| d.file.id == file).ok_or(ErrorCode::NotFound)?;
        self.audit_client(scope, "portal.document_viewed", format!("file:{file}"), &[], client).await?;
        Ok((document, self.files().sign(&download_path(&file), &file, scope.user())))
    }

    /// A link to download a file the client may have (shared, or their own answer).
    pub fn link(&self, scope: &ClientScope, file: RecordId) -> Result<FileLink, AppError> {
        self.reachable(scope, &file)?;
        Ok(self.files().sign(&download_path(&file), &file, scope.user()))
    }

    /// The file and its key, if the client may have it (E3002 otherwise).
    fn reachable(&self, scope: &ClientScope, file: &RecordId) -> Result<(FileRow, Vec<u8>), AppError> {
        self.store().client(scope).read_now(|txn| {
            let found = txn.company_file(file)?.ok_or(ErrorCode::NotFound)?;
            let portal = txn.portal();
            if reachable_by_client(file, portal.share(file)?.is_some(), &portal.requests()?) {
                Ok(found)
            } else {
                Err(ErrorCode::NotFound.into())
            }
        })
    }

    /// The file a client's download link names (audited: the download's receipt).
    pub async fn open(
        &self,
        scope: &ClientScope,
        file: RecordId,
        expires: i64,
        sig: &str,
        client: &ClientInfo,
    ) -> Result<Download, AppError> {
        self.files().check_link(&file, scope.user(), expires, sig)?;
        let (row, key) = self.reachable(scope, &file)?;
        self.files().refuse_unscanned(&row)?;
        self.audit_client(scope, "portal.document_downloaded", format!("file:{file}"), &[], client).await?;
        self.files().download(*scope.workspace(), row, &key)
    }

    /// Confirms the client has read a shared document: who, when, from which address and the
    /// file's SHA-256, in the audit log and on the firm's page. Once per client.
    pub async fn acknowledge(&self, scope: &ClientScope, file: RecordId, client: &ClientInfo) -> Result<(), AppError> {
        let (row, key) = self.reachable(scope, &file)?;
        let download = self.files().download(*scope.workspace(), row.clone(), &key)?;
        let mut hashing = HashingSink(Sha256::new());
        download.copy(0..row.size, &mut hashing).await?;
        let sha256 = hex::encode(hashing.0.finalize());
        let (me, now, client) = (*scope.user(), self.now(), client.clone());
        let told = self
            .store()
            .client(scope)
            .write(move |txn| {
                let portal = txn.portal();
                let mut share = portal.share(&file)?.ok_or(ErrorCode::NotFound)?;
                if share.receipts.iter().any(|r| r.user == me) {
                    return Ok(None);
                }
                share.receipts.push(Receipt { user: me, at: now, ip: client.ip.clone(), sha256: sha256.clone() });
                portal.put_share(&share)?;
                let event = AuditEvent::new("portal.document_acknowledged", Some(me))
                    .target(format!("file:{file}"))
                    .fields(&[&format!("sha256={sha256}")])
                    .from_client(&client);
                txn.audit(now, event)?;
                tell_firm(txn, now, format!("acknowledged the document \u{201c}{}\u{201d}", row.name)).map(Some)
            })
            .await?;
        self.tell_firm_by_email(told);
        Ok(())
    }

    /// The company's requests, those waiting for the client first.
    pub async fn requests(&self, scope: &ClientScope) -> Result<Vec<DocRequest>, AppError> {
        Ok(in_order(self.store().client(scope).read_now(|txn| txn.portal().requests())?))
    }

    /// One request with its answers' files (viewing is audited).
    pub async fn request(
        &self,
        scope: &ClientScope,
        id: RecordId,
        client: &ClientInfo,
    ) -> Result<RequestView, AppError> {
        let view = self.store().client(scope).read_now(|txn| {
            let request = txn.portal().request(&id)?.ok_or(ErrorCode::NotFound)?;
            let mut files = Vec::new();
            for file in request.items.iter().filter_map(|item| item.answer_file) {
                files.extend(txn.company_file_row(&file)?);
            }
            Ok(RequestView::of(request, &files))
        })?;
        self.audit_client(scope, "portal.request_viewed", format!("request:{id}"), &[], client).await?;
        Ok(view)
    }

    /// Starts the upload of a file answering item `item` of request `id` (E3002 when there
    /// is no such item, E5001 when it is not waiting for an answer).
    pub async fn answer_intake(
        &self,
        scope: &ClientScope,
        id: RecordId,
        item: usize,
        name: &str,
    ) -> Result<Intake, AppError> {
        self.store().client(scope).read_now(|txn| {
            let request = txn.portal().request(&id)?.ok_or(ErrorCode::NotFound)?;
            open_item(&request, item).map(|_| ())
        })?;
        self.within_upload_budget(scope)?;
        self.files().client_intake(scope, name).await
    }

    /// Bytes the company's clients may upload in all (their answers' files).
    fn within_upload_budget(&self, scope: &ClientScope) -> Result<(), AppError> {
        let budget = u64::from(self.security_policy().storage_quota_mib / 10).max(1) * 1024 * 1024;
        let used: u64 = self.store().client(scope).read_now(|txn| {
            let mut used = 0;
            for request in txn.portal().requests()? {
                for file in request.items.iter().filter_map(|item| item.answer_file) {
                    used += txn.company_file_row(&file)?.map_or(0, |row| row.size);
                }
            }
            Ok(used)
        })?;
        if used >= budget {
            return Err(AppError::field(ErrorCode::FileTooLarge, "file")
                .with_hint("Your uploads have reached this portal's limit: please write to the firm."));
        }
        Ok(())
    }

    /// Answers one item of a request with text or a file (audited; the firm is told).
    pub async fn answer(
        &self,
        scope: &ClientScope,
        id: RecordId,
        item: usize,
        answer: Answer,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let (text, file) = match answer {
            Answer::Text(text) => (Some(portal::body(&text, ITEM_TEXT_MAX, "text")?), None),
            Answer::File(row) => (None, Some(row)),
        };
        let (me, now, client) = (*scope.user(), self.now(), client.clone());
        let told = self
            .store()
            .client(scope)
            .write(move |txn| {
                let portal = txn.portal();
                let before = portal.request(&id)?.ok_or(ErrorCode::NotFound)?;
                open_item(&before, item)?;
                let mut after = before.clone();
                let line = &mut after.items[item];
                line.state = ItemState::Answered;
                line.answer_text = text;
                line.answer_file = file.as_ref().map(|f| f.id);
                line.answered_by = Some(me);
                line.answered_at = Some(now);
                if !after.open() {
                    after.next_reminder = None;
                }
                portal.put_request(&before, &after)?;
                let what = if file.is_some() { "uploaded a file for" } else { "answered" };
                let event = AuditEvent::new("portal.item_answered", Some(me))
                    .target(format!("request:{id}"))
                    .fields(&[&format!("item={item}"), if file.is_some() { "file" } else { "text" }])
                    .from_client(&client);
                txn.audit(now, event)?;
                tell_firm(
                    txn,
                    now,
                    format!("{what} \u{201c}{}\u{201d} in \u{201c}{}\u{201d}", before.items[item].text, before.title),
                )
                .map(Some)
            })
            .await?;
        self.tell_firm_by_email(told);
        Ok(())
    }

    /// The thread as the client sees it (no internal notes), oldest first; marks it read.
    pub async fn messages(&self, scope: &ClientScope) -> Result<Vec<Message>, AppError> {
        let (me, now) = (*scope.user(), self.now());
        self.store()
            .client(scope)
            .write(move |txn| {
                let portal = txn.portal();
                let marks = portal.marks(&me)?;
                portal.put_marks(&me, &Marks { messages_read_at: now, ..marks })?;
                portal.messages()
            })
            .await
    }

    /// Writes to the firm (audited; the firm is told).
    pub async fn write(&self, scope: &ClientScope, body: &str, client: &ClientInfo) -> Result<(), AppError> {
        let body = portal::body(body, MESSAGE_MAX, "body")?;
        let (me, now, client) = (*scope.user(), self.now(), client.clone());
        let told = self
            .store()
            .client(scope)
            .write(move |txn| {
                let author = txn.me()?.ok_or(ErrorCode::SessionExpired)?;
                let message = Message {
                    id: message_id(now),
                    author: me,
                    author_name: author.name,
                    from_client: true,
                    internal: false,
                    body,
                    at: now,
                };
                txn.portal().put_message(&message)?;
                let event =
                    AuditEvent::new("portal.message_posted", Some(me)).fields(&["from_client"]).from_client(&client);
                txn.audit(now, event)?;
                tell_firm(txn, now, "wrote a message".to_owned()).map(Some)
            })
            .await?;
        self.tell_firm_by_email(told);
        Ok(())
    }

    async fn audit_client(
        &self,
        scope: &ClientScope,
        name: &'static str,
        target: String,
        fields: &[&str],
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let event = AuditEvent::new(name, Some(*scope.user())).target(target).fields(fields).from_client(client);
        let now = self.now();
        self.store().client(scope).write(move |txn| txn.audit(now, event)).await
    }

    fn tell_firm_by_email(&self, told: Option<Told>) {
        if let Some(Told { owner, company, summary }) = told {
            self.notify().firm(owner, &company, &summary);
        }
    }
}

/// What a client's action tells the firm, to email once the action is stored.
struct Told {
    owner: Option<crate::domain::email::EmailAddress>,
    company: Company,
    summary: String,
}

/// Records a client's action for the firm (badge, activity page, company timeline) and
/// answers whom to email about it.
fn tell_firm(txn: &ClientWrite<'_>, now: i64, what: String) -> Result<Told, AppError> {
    let me = txn.me()?.ok_or(ErrorCode::SessionExpired)?;
    let company = txn.company()?.ok_or(ErrorCode::NotFound)?;
    let summary = format!("{} {what}", me.name);
    txn.tell_firm(&Activity {
        at: now,
        company: company.id,
        by: me.id,
        by_name: me.name.clone(),
        summary: summary.clone(),
    })?;
    let owner = firm_contact(&txn.firm_people()?, &company);
    Ok(Told { owner, company, summary })
}

/// The item, if it is waiting for the client (E3002 when there is none, E5001 otherwise).
fn open_item(request: &DocRequest, item: usize) -> Result<&crate::app::store::portal::RequestItem, AppError> {
    let line = request.items.get(item).ok_or(ErrorCode::NotFound)?;
    if !line.state.awaits_client() {
        return Err(AppError::field(ErrorCode::Duplicate, "item").with_hint("This item was already answered."));
    }
    Ok(line)
}

/// Hashes what is written to it (a file's bytes, for a receipt).
struct HashingSink(Sha256);

impl tokio::io::AsyncWrite for HashingSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.update(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
