//! The firm's side of a company's portal: its client users, the documents shared with it, its
//! requests and its thread. Anyone who reads records sees it; managers and above, and the
//! company's owner, change it.

use super::{Portal, RequestView, SharedDocument, in_order, name_of, receipts};
use crate::app::audit::{AuditEvent, record};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, IssuedLink, LinkPurpose, TenantScope};
use crate::app::files::FileRow;
use crate::app::store::WorkspaceWrite;
use crate::app::store::portal::{Activity, DocRequest, Message, RequestItem, Share, message_id};
use crate::app::store::rows::UserRecord;
use crate::domain::crm::{Company, Kind};
use crate::domain::email::EmailAddress;
use crate::domain::fields::Day;
use crate::domain::ids::{RecordId, UserId};
use crate::domain::portal::{self, ITEM_TEXT_MAX, ItemState, MESSAGE_MAX};
use crate::domain::role::Role;
use crate::domain::text::required_line;
use crate::error::{AppError, ErrorCode};

/// A client user of a company, as the firm sees them.
#[derive(Debug, Clone)]
pub struct ClientUser {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub disabled: bool,
    /// False until they set a password from their invitation.
    pub active: bool,
    pub mfa: bool,
}

/// Everything the company page's portal section shows.
#[derive(Debug, Clone)]
pub struct StaffPortal {
    pub company: Company,
    /// Whether the viewer may change the portal (invite, share, ask, reply).
    pub manages: bool,
    pub clients: Vec<ClientUser>,
    pub documents: Vec<SharedDocument>,
    /// The company's attachments not shared yet (what can be shared).
    pub unshared: Vec<FileRow>,
    pub requests: Vec<RequestView>,
    /// The whole thread, internal notes included, oldest first.
    pub messages: Vec<Message>,
}

/// The firm's decision on an answered item: accepted, or sent back with a comment.
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    pub accept: bool,
    pub comment: &'a str,
}

/// A request as the firm writes it.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub title: String,
    pub due: String,
    pub items: Vec<String>,
    /// A template whose name and items stand in for an empty title and empty items.
    pub template: Option<RecordId>,
}

/// Whether `scope` may change `company`'s portal: managers and above, or its owner.
fn manages(scope: &TenantScope, company: &Company) -> bool {
    scope.can(Action::EditAllRecords) || (scope.can(Action::EditOwnRecords) && company.owner_id == *scope.user())
}

/// The company (E3002 when it isn't the workspace's), if `scope` may change its portal (E1005).
fn managed_company(txn: &WorkspaceWrite<'_>, scope: &TenantScope, company: &RecordId) -> Result<Company, AppError> {
    let found = txn.load::<Company>(company)?.ok_or(ErrorCode::NotFound)?;
    if manages(scope, &found) { Ok(found) } else { Err(ErrorCode::Forbidden.into()) }
}

fn clients_of(users: &[UserRecord], company: &RecordId) -> Vec<ClientUser> {
    let mut clients: Vec<ClientUser> = users
        .iter()
        .filter(|u| u.role == Role::Client && u.company == Some(*company))
        .map(|u| ClientUser {
            id: u.id,
            name: u.name.clone(),
            email: u.email.to_string(),
            disabled: u.disabled,
            active: u.password_hash.is_some(),
            mfa: u.mfa.is_some(),
        })
        .collect();
    clients.sort_by_key(|c| c.name.to_lowercase());
    clients
}

/// Parses a request as the firm wrote it: a title, a due date and 1–50 items (a template's
/// name and items standing in for what was left empty).
fn parse_request(
    input: &NewRequest,
    template: Option<super::RequestTemplate>,
) -> Result<(String, Day, Vec<String>), AppError> {
    let (mut title, mut items) = (input.title.clone(), input.items.clone());
    if let Some(template) = template {
        if title.trim().is_empty() {
            title = template.name;
        }
        if items.iter().all(|i| i.trim().is_empty()) {
            items = template.items;
        }
    }
    Ok((portal::line(&title, "title")?, Day::parse(&input.due, "due")?, super::templates::items_of(&items)?))
}

impl Portal<'_> {
    /// Runs `change` in a write transaction on `company`'s portal, once `scope` is known to
    /// manage it (E3002 for an unknown company, E1005 for a role that may only read it).
    async fn in_portal<T: Send + 'static>(
        &self,
        scope: &TenantScope,
        company: RecordId,
        change: impl FnOnce(&WorkspaceWrite<'_>, &TenantScope, i64) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        scope.require(Action::ReadRecords)?;
        let (scope, now) = (scope.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                managed_company(txn, &scope, &company)?;
                change(txn, &scope, now)
            })
            .await
    }

    /// The portal section of a company page (E3002 for an unknown company).
    pub async fn overview(&self, scope: &TenantScope, company: RecordId) -> Result<StaffPortal, AppError> {
        scope.require(Action::ReadRecords)?;
        let scope = scope.clone();
        self.store()
            .workspace(&scope)
            .read(move |txn| {
                let found = txn.load::<Company>(&company)?.ok_or(ErrorCode::NotFound)?;
                let users = txn.users()?;
                let portal = txn.portal(company);
                let files = txn.files_of(Kind::Company, &company)?;
                let shares = portal.shares()?;
                let mut documents: Vec<SharedDocument> = shares
                    .iter()
                    .filter_map(|share| {
                        let file = files.iter().find(|f| f.id == share.file)?.clone();
                        Some(SharedDocument {
                            file,
                            shared_at: share.shared_at,
                            shared_by: name_of(&users, &share.shared_by),
                            receipts: receipts(&users, &share.receipts),
                            new: false,
                        })
                    })
                    .collect();
                documents.sort_by_key(|d| std::cmp::Reverse(d.shared_at));
                let unshared = files.iter().filter(|f| !shares.iter().any(|s| s.file == f.id)).cloned().collect();
                let requests = in_order(portal.requests()?).into_iter().map(|r| RequestView::of(r, &files)).collect();
                Ok(StaffPortal {
                    manages: manages(&scope, &found),
                    company: found,
                    clients: clients_of(&users, &company),
                    documents,
                    unshared,
                    requests,
                    messages: portal.messages_with_internal()?,
                })
            })
            .await
    }

    /// Invites a person of `company` to its portal: a client user without a password and their
    /// invitation link (72 h), emailed with the firm's name when email is set up.
    pub async fn invite_client(
        &self,
        scope: &TenantScope,
        company: RecordId,
        email: &str,
        name: &str,
        client: &ClientInfo,
    ) -> Result<IssuedLink, AppError> {
        let email = EmailAddress::parse(email)?;
        let name = required_line(name, crate::app::auth::setup::NAME_MAX, "name")?;
        let client = client.clone();
        let address = email.clone();
        let (link, firm) = self
            .in_portal(scope, company, move |txn, scope, now| {
                let mut user = UserRecord::new(*scope.workspace(), email, name, Role::Client, None, now);
                user.company = Some(company);
                txn.insert_user(&user)?;
                let link = crate::app::auth::links_issue(txn, LinkPurpose::Invite, user.id, now)?;
                let event = AuditEvent::new("portal.client_invited", Some(*scope.user()))
                    .target(user.id)
                    .fields(&[&format!("company:{company}")])
                    .from_client(&client);
                record(txn, now, event)?;
                Ok((link, txn.workspace_name()?))
            })
            .await?;
        self.notify().invitation(address, &firm, &link);
        Ok(link)
    }

    /// Disables or re-enables a client user of `company`; disabling signs them out at once.
    pub async fn set_client_disabled(
        &self,
        scope: &TenantScope,
        company: RecordId,
        user: UserId,
        disabled: bool,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let client = client.clone();
        self.in_portal(scope, company, move |txn, scope, now| {
            let mut target = txn
                .user(&user)?
                .filter(|u| u.role == Role::Client && u.company == Some(company))
                .ok_or(ErrorCode::NotFound)?;
            target.disabled = disabled;
            txn.update_user(&target)?;
            txn.delete_sessions_of(&target.id)?;
            let name = if disabled { "portal.client_disabled" } else { "portal.client_enabled" };
            record(txn, now, AuditEvent::new(name, Some(*scope.user())).target(target.id).from_client(&client))
        })
        .await
    }

    /// Shares one of the company's attachments with its clients (sharing twice is harmless).
    pub async fn share(
        &self,
        scope: &TenantScope,
        company: RecordId,
        file: RecordId,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let workspace = *scope.workspace();
        let client = client.clone();
        self.in_portal(scope, company, move |txn, scope, now| {
            let row = txn.file(&file)?.filter(|f| f.kind == Kind::Company && f.record == company);
            let row = row.ok_or_else(|| AppError::field(ErrorCode::NotFound, "file_id"))?;
            let portal = txn.portal(company);
            if portal.share(&row.id)?.is_some() {
                return Ok(());
            }
            portal.put_share(&Share {
                file: row.id,
                shared_by: *scope.user(),
                shared_at: now,
                receipts: Vec::new(),
            })?;
            let event = AuditEvent::new("portal.document_shared", Some(*scope.user()))
                .target(format!("file:{}", row.id))
                .fields(&[&format!("company:{company}")])
                .from_client(&client);
            record(txn, now, event)
        })
        .await?;
        self.notify().clients_of(workspace, company, "a new document", "/portal/documents").await;
        Ok(())
    }

    /// Stops sharing a document (the file stays attached to the company).
    pub async fn unshare(
        &self,
        scope: &TenantScope,
        company: RecordId,
        file: RecordId,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let client = client.clone();
        self.in_portal(scope, company, move |txn, scope, now| {
            if !txn.portal(company).remove_share(&file)? {
                return Err(ErrorCode::NotFound.into());
            }
            let event = AuditEvent::new("portal.document_unshared", Some(*scope.user()))
                .target(format!("file:{file}"))
                .from_client(&client);
            record(txn, now, event)
        })
        .await
    }

    /// Asks the company's clients for documents or answers by a date; they are emailed, then
    /// reminded (7 days and 1 day before, on the day, then weekly until done).
    pub async fn create_request(
        &self,
        scope: &TenantScope,
        company: RecordId,
        input: &NewRequest,
        client: &ClientInfo,
    ) -> Result<DocRequest, AppError> {
        scope.require(Action::ReadRecords)?;
        let workspace = *scope.workspace();
        let template = match input.template {
            Some(id) => Some(self.template(scope, id).await?),
            None => None,
        };
        let (title, due, items) = parse_request(input, template)?;
        let (client, now) = (client.clone(), self.now());
        let request = DocRequest {
            id: RecordId::random(),
            title,
            due,
            created_by: *scope.user(),
            created_at: now,
            items: items
                .into_iter()
                .map(|text| RequestItem {
                    text,
                    state: ItemState::Open,
                    answer_text: None,
                    answer_file: None,
                    answered_by: None,
                    answered_at: None,
                    comment: None,
                })
                .collect(),
            next_reminder: Some(portal::first_stage(due, now)),
        };
        let stored = request.clone();
        self.in_portal(scope, company, move |txn, scope, now| {
            txn.portal(company).put_request(None, &stored)?;
            let event = AuditEvent::new("portal.request_created", Some(*scope.user()))
                .target(format!("request:{}", stored.id))
                .fields(&[&format!("company:{company}"), &format!("items={}", stored.items.len())])
                .from_client(&client);
            record(txn, now, event)
        })
        .await?;
        let path = format!("/portal/requests/{}", request.id);
        self.notify().clients_of(workspace, company, "a new request", &path).await;
        Ok(request)
    }

    /// Accepts an answered item, or sends it back to the client with a comment.
    pub async fn review_item(
        &self,
        scope: &TenantScope,
        company: RecordId,
        (request, item): (RecordId, usize),
        review: Review<'_>,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let Review { accept, comment } = review;
        let comment = match comment.trim() {
            "" if accept => None,
            "" => return Err(AppError::field(ErrorCode::Required, "comment")),
            text => Some(portal::body(text, ITEM_TEXT_MAX, "comment")?),
        };
        let client = client.clone();
        self.in_portal(scope, company, move |txn, scope, now| {
            let portal = txn.portal(company);
            let before = portal.request(&request)?.ok_or(ErrorCode::NotFound)?;
            let mut after = before.clone();
            let line = after.items.get_mut(item).ok_or(ErrorCode::NotFound)?;
            line.state = if accept { ItemState::Accepted } else { ItemState::Reopened };
            line.comment = comment;
            after.next_reminder = match (after.open(), before.next_reminder) {
                (false, _) => None,
                (true, Some(stage)) => Some(stage),
                (true, None) => Some(portal::first_stage(after.due, now)),
            };
            portal.put_request(Some(&before), &after)?;
            let name = if accept { "portal.item_accepted" } else { "portal.item_reopened" };
            let event = AuditEvent::new(name, Some(*scope.user()))
                .target(format!("request:{request}"))
                .fields(&[&format!("item={item}")])
                .from_client(&client);
            record(txn, now, event)
        })
        .await
    }

    /// Writes in the company's thread; an `internal` note is for the firm alone.
    pub async fn post_message(
        &self,
        scope: &TenantScope,
        company: RecordId,
        body: &str,
        internal: bool,
        client: &ClientInfo,
    ) -> Result<Message, AppError> {
        let workspace = *scope.workspace();
        let body = portal::body(body, MESSAGE_MAX, "body")?;
        let client = client.clone();
        let posted = self
            .in_portal(scope, company, move |txn, scope, now| {
                let me = txn.user(scope.user())?.ok_or(ErrorCode::SessionExpired)?;
                let message = Message {
                    id: message_id(now),
                    author: me.id,
                    author_name: me.name,
                    from_client: false,
                    internal,
                    body,
                    at: now,
                };
                txn.portal(company).put_message(&message)?;
                let event = AuditEvent::new("portal.message_posted", Some(*scope.user()))
                    .target(format!("company:{company}"))
                    .fields(&[if internal { "internal" } else { "to_client" }])
                    .from_client(&client);
                record(txn, now, event)?;
                Ok(message)
            })
            .await?;
        if !internal {
            self.notify().clients_of(workspace, company, "a new message", "/portal/messages").await;
        }
        Ok(posted)
    }

    /// What clients did lately (newest first), and marks it all seen by the viewer.
    pub async fn activity(&self, scope: &TenantScope) -> Result<Vec<(Activity, bool)>, AppError> {
        scope.require(Action::ReadRecords)?;
        let (scope, now) = (scope.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let seen = txn.portal_seen(scope.user())?;
                let recent = txn.portal_activity(0, 100)?;
                txn.set_portal_seen(scope.user(), now)?;
                Ok(recent.into_iter().map(|a| (a.clone(), a.at > seen)).collect())
            })
            .await
    }
}
