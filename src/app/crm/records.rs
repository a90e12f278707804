//! The one write path and the scoped reads of every CRM record kind.

use std::collections::HashMap;

use super::{CrmRecord, Exact, ListQuery, ParsedFilter, Reference, Start, WriteContext, index_terms, pipeline};
use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::files::DeletedFiles;
use crate::app::store::crm::{Entity, IndexRow, Partial, Reading, TimelineEntry};
use crate::app::store::idempotency::IdempotentAnswer;
use crate::app::store::{WorkspaceRead, WorkspaceWrite};
use crate::error::{AppError, ErrorCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A timeline line as pages show it: the stored entry itself.
pub(crate) type TimelineView = TimelineEntry;
use crate::domain::crm::{Changes, Contact, Kind, Note, Subject, Task, TimelineEvent};
use crate::domain::ids::{RecordId, UserId};
use crate::domain::role::Role;

crate::app::service! {
    /// CRM records of every kind: create, read, change, delete, list, merge and bulk actions.
    Records
}

/// One page of a list and where the next one starts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// Where the page before this one ends (`before=`); none on the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<String>,
}

/// How many records a list holds: exactly, or at least this many (a count that stopped at
/// its budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exact(u64),
    AtLeast(u64),
}

/// A record with what the caller may do with it (the UI hides what the service would refuse).
#[derive(Debug, Clone)]
pub struct RecordView<T> {
    pub record: T,
    pub can_edit: bool,
}

/// Page size bounds of every list.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;
/// Index rows a filtered page may examine before it returns what it has (and a cursor).
const SCAN_BUDGET: usize = 5_000;
/// Listed rows a jump to a page of an unfiltered list may step over (by key, no record read:
/// a few milliseconds). A filtered jump steps over at most [`SCAN_BUDGET`] index rows.
const SKIP_BUDGET: usize = 100_000;
/// Titles read in place (more, as for an export, go to the blocking pool).
const PAGE_TITLES: usize = 500;

/// An `Idempotency-Key` (hashed) and a hash of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key_hash: [u8; 32],
    pub request_hash: String,
}

/// How long an idempotent answer is replayed.
pub const IDEMPOTENCY_SECONDS: i64 = 24 * 3600;

/// A create's outcome: a new record, or the first answer to the same `Idempotency-Key`.
#[derive(Debug)]
pub enum Created<T> {
    New(T),
    Replayed { status: u16, body: String },
}

/// Whether the caller may change or delete `record`.
pub(crate) fn may_edit<T: CrmRecord>(scope: &TenantScope, record: &T) -> bool {
    scope.can(Action::EditAllRecords) || (scope.can(Action::EditOwnRecords) && record.editors().contains(scope.user()))
}

fn require_edit<T: CrmRecord>(scope: &TenantScope, record: &T) -> Result<(), AppError> {
    if may_edit(scope, record) { Ok(()) } else { Err(ErrorCode::Forbidden.into()) }
}

pub(crate) fn event(
    name: &'static str,
    scope: &TenantScope,
    kind: Kind,
    id: &RecordId,
    client: &ClientInfo,
) -> AuditEvent {
    AuditEvent::new(name, Some(*scope.user())).target(format!("{}:{id}", kind.as_str())).from_client(client)
}

/// Every user and record the record points at must exist in this workspace (a foreign or
/// unknown id is "invalid", never revealed).
pub(crate) fn check_references<T: CrmRecord>(txn: &WorkspaceWrite<'_>, record: &T) -> Result<(), AppError> {
    let records = txn.records()?;
    for reference in record.references() {
        let exists = match reference {
            Reference::User(id, _) => txn.user(&id)?.is_some_and(|u| !u.disabled && u.role != Role::Client),
            Reference::Record(kind, id, _) => records.contains(kind, &id)?,
        };
        if !exists {
            let (Reference::User(_, field) | Reference::Record(_, _, field)) = reference;
            return Err(AppError::field(ErrorCode::InvalidFormat, field));
        }
    }
    Ok(())
}

fn timeline_entry(at: i64, actor: UserId, event: TimelineEvent) -> TimelineEntry {
    TimelineEntry { at, actor: Some(actor), event, fields: Vec::new(), detail: None, link: None }
}

/// Writes the timeline lines of a change: on the record, and on its subject for notes and
/// tasks; a new note (or a finished call, email or meeting) marks the contact as contacted.
pub(crate) fn record_activity<T: CrmRecord>(
    txn: &WorkspaceWrite<'_>,
    before: Option<&T>,
    after: &T,
    changes: &Changes,
    ctx: &WriteContext<'_>,
) -> Result<(), AppError> {
    let detail = before.and_then(|b| T::change_detail(b, after, ctx));
    let event = if before.is_none() { TimelineEvent::Created } else { TimelineEvent::Updated };
    let mut entry = timeline_entry(ctx.now, ctx.by, event);
    entry.fields = changes.fields().iter().map(|f| f.to_string()).collect();
    if detail.is_some() && T::KIND == Kind::Deal {
        entry.event = TimelineEvent::Stage;
    }
    entry.detail = detail.clone();
    txn.append_timeline(T::KIND, &after.id(), &entry)?;
    let Some(subject) = after.subject() else { return Ok(()) };
    let on_subject = match (before, T::KIND) {
        (None, Kind::Note) => Some(TimelineEvent::Note),
        (None, Kind::Task) => Some(TimelineEvent::Task),
        (Some(_), Kind::Task) if detail.is_some() => Some(TimelineEvent::TaskDone),
        _ => None,
    };
    if let Some(event) = on_subject {
        let mut line = timeline_entry(ctx.now, ctx.by, event);
        line.detail = Some(after.title());
        line.link = Some((T::KIND, after.id()));
        txn.append_timeline(subject.kind, &subject.id, &line)?;
        if subject.kind == Kind::Contact && event != TimelineEvent::Task {
            touch_contact(txn, &subject, ctx.now)?;
        }
    }
    Ok(())
}

fn touch_contact(txn: &WorkspaceWrite<'_>, subject: &Subject, now: i64) -> Result<(), AppError> {
    if let Some(old) = txn.load::<Contact>(&subject.id)? {
        let mut new = old.clone();
        new.last_contacted = Some(now);
        txn.save(Some(&old), &new)?;
    }
    Ok(())
}

impl Records<'_> {
    /// Creates a record of kind `T` from `input`.
    pub(crate) async fn create<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        input: T::Input,
        client: &ClientInfo,
    ) -> Result<T, AppError> {
        match self.create_once::<T>(scope, input, client, None).await? {
            Created::New(record) => Ok(record),
            Created::Replayed { .. } => Err(AppError::internal(ErrorCode::Internal, "replay without a key")),
        }
    }

    /// Creates a record, or replays the first answer to the same idempotency key (checked and
    /// stored in the same transaction, so two racing retries create one record).
    pub(crate) async fn create_once<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        input: T::Input,
        client: &ClientInfo,
        idempotency: Option<Idempotency>,
    ) -> Result<Created<T>, AppError> {
        scope.require(Action::CreateRecords)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                if let Some(idem) = &idempotency {
                    let kept = txn.idempotent_answer(scope.user(), &idem.key_hash)?;
                    if let Some(answer) = kept.filter(|a| now - a.at < IDEMPOTENCY_SECONDS) {
                        if answer.request_hash != idem.request_hash {
                            return Err(AppError::field(ErrorCode::InvalidFormat, "idempotency_key"));
                        }
                        return Ok(Created::Replayed { status: answer.status, body: answer.body });
                    }
                }
                let pipeline = pipeline::load_in(txn)?;
                let ctx = WriteContext { now, by: *scope.user(), pipeline: &pipeline };
                let (record, changes) = T::create(RecordId::random(), input, &ctx)?;
                if T::financial(&changes) {
                    scope.require_recent_second_factor(now)?;
                }
                check_references(txn, &record)?;
                txn.save(None, &record)?;
                record_activity(txn, None, &record, &changes, &ctx)?;
                let fields: Vec<&str> = changes.fields().to_vec();
                audit(txn, now, event("record.created", &scope, T::KIND, &record.id(), &client).fields(&fields))?;
                if let Some(idem) = idempotency {
                    let body =
                        serde_json::to_string(&record).map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
                    let answer = IdempotentAnswer { at: now, request_hash: idem.request_hash, status: 201, body };
                    txn.save_idempotent_answer(scope.user(), &idem.key_hash, &answer)?;
                }
                Ok(Created::New(record))
            })
            .await
    }

    /// One record of this workspace (E3002 for unknown and foreign ids alike).
    pub(crate) async fn get<T: CrmRecord>(&self, scope: &TenantScope, id: RecordId) -> Result<RecordView<T>, AppError> {
        scope.require(Action::ReadRecords)?;
        let record = self.store().workspace(scope).read_now(|txn| txn.load::<T>(&id))?.ok_or(ErrorCode::NotFound)?;
        Ok(RecordView { can_edit: may_edit(scope, &record), record })
    }

    /// Changes a record the caller may edit; financial fields need a fresh second factor.
    pub(crate) async fn update<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        id: RecordId,
        input: T::Input,
        client: &ClientInfo,
    ) -> Result<T, AppError> {
        scope.require(Action::ReadRecords)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store().workspace(&scope).write(move |txn| update_in::<T>(txn, &scope, id, input, now, &client)).await
    }

    /// Deletes a record the caller may edit, with the notes and tasks attached to it.
    pub(crate) async fn delete<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        id: RecordId,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        scope.require(Action::ReadRecords)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        let files = self
            .store()
            .workspace(&scope)
            .write(move |txn| delete_checked_in::<T>(txn, &scope, id, now, &client))
            .await?;
        files.remove(self).await;
        Ok(())
    }

    /// One page of records matching the query, in index order, after its cursor.
    pub(crate) async fn list<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        query: &ListQuery,
    ) -> Result<Listing<T>, AppError> {
        self.list_as::<T>(scope, query).await
    }

    /// [`Records::list`] for a list page: only the sealed fields a row shows
    /// ([`Entity::LISTED_SEALED`](crate::app::store::crm::Entity::LISTED_SEALED)) are opened;
    /// the rows cannot be saved.
    pub(crate) async fn rows<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        query: &ListQuery,
    ) -> Result<Listing<Partial<T>>, AppError> {
        self.list_as::<Partial<T>>(scope, query).await
    }

    async fn list_as<R: Reading<Of: CrmRecord>>(
        &self,
        scope: &TenantScope,
        query: &ListQuery,
    ) -> Result<Listing<R>, AppError> {
        scope.require(Action::ReadRecords)?;
        let limit = query.limit.clamp(1, MAX_LIMIT);
        let cursor = match &query.start {
            Start::After(c) => Some(c.as_slice()),
            _ => None,
        };
        let mut parsed = query.filter.clone();
        let store = self.store().workspace(scope);
        if let Some(probe) = index_terms::exact_probe(&parsed.q) {
            // A phone number or tax id: sealed, so found through the keyed blind index.
            let candidates = self.search().exact_matches(scope, R::Of::KIND, probe.field, &probe.lookup).await?;
            parsed.exact = Some(Exact { index: probe.index, value: probe.value });
            return store.read_now(|txn| list_candidates_in::<R>(txn, &parsed, candidates, cursor, limit));
        }
        // Small enough to read in place: one page, at most SCAN_BUDGET index rows looked at.
        store.read_now(|txn| list_in::<R>(txn, &parsed, &query.start, limit))
    }

    /// How many records `filter` lists (see [`Total`]): one read when nothing narrows it.
    pub(crate) async fn total<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        filter: &ParsedFilter,
    ) -> Result<Total, AppError> {
        scope.require(Action::ReadRecords)?;
        let store = self.store().workspace(scope);
        if index_terms::exact_probe(&filter.q).is_some() {
            // An exact lookup lists its few candidates: counted by listing them all.
            let all = ListQuery { filter: filter.clone(), start: Start::First, limit: MAX_LIMIT };
            let listing = self.list_as::<Partial<T>>(scope, &all).await?;
            let found = listing.items.len() as u64;
            return Ok(if listing.next_cursor.is_some() { Total::AtLeast(found) } else { Total::Exact(found) });
        }
        store.read_now(|txn| count_in::<T>(txn, filter))
    }

    /// The newest entries of a record's timeline (the record must be readable).
    pub(crate) async fn timeline(
        &self,
        scope: &TenantScope,
        kind: Kind,
        id: RecordId,
    ) -> Result<Vec<TimelineView>, AppError> {
        scope.require(Action::ReadRecords)?;
        self.store().workspace(scope).read_now(|txn| txn.timeline(kind, &id, 100))
    }

    /// The workspace's people who can own records and be assigned tasks, by name.
    pub async fn people(&self, scope: &TenantScope) -> Result<Vec<Person>, AppError> {
        scope.require(Action::ReadRecords)?;
        let mut people: Vec<Person> = self
            .store()
            .workspace(scope)
            .read_now(|txn| txn.users())?
            .into_iter()
            .filter(|u| u.role != Role::Client && !u.disabled)
            .map(|u| Person { id: u.id, name: u.name })
            .collect();
        people.sort_by_key(|p| p.name.to_lowercase());
        Ok(people)
    }

    /// Forgets idempotent answers older than 24 hours (run once a minute).
    pub async fn expire_idempotency(&self) -> Result<usize, AppError> {
        let before = self.now() - IDEMPOTENCY_SECONDS;
        self.store().write(move |txn| txn.expire_idempotent_answers(before)).await
    }

    /// Display names of records of one kind (unknown ids are left out).
    pub(crate) async fn titles<T: CrmRecord>(
        &self,
        scope: &TenantScope,
        ids: Vec<RecordId>,
    ) -> Result<HashMap<RecordId, String>, AppError> {
        scope.require(Action::ReadRecords)?;
        let ids_len = ids.len();
        let read = move |txn: &WorkspaceRead<'_>| {
            let records = txn.records()?;
            let mut titles = HashMap::new();
            for id in ids {
                if let Some(title) = super::titles::stored_title::<T>(&records, &id)? {
                    titles.insert(id, title);
                }
            }
            Ok(titles)
        };
        // The names on one page are read in place; an export's thousands on the blocking pool.
        let store = self.store().workspace(scope);
        if ids_len <= PAGE_TITLES { store.read_now(read) } else { store.read(read).await }
    }
}

/// Changes one record inside the caller's transaction (the single update path).
pub(crate) fn update_in<T: CrmRecord>(
    txn: &WorkspaceWrite<'_>,
    scope: &TenantScope,
    id: RecordId,
    input: T::Input,
    now: i64,
    client: &ClientInfo,
) -> Result<T, AppError> {
    let before = txn.load::<T>(&id)?.ok_or(ErrorCode::NotFound)?;
    require_edit(scope, &before)?;
    let pipeline = pipeline::load_in(txn)?;
    let ctx = WriteContext { now, by: *scope.user(), pipeline: &pipeline };
    let mut after = before.clone();
    let changes = after.apply(input, &ctx)?;
    if changes.is_empty() {
        return Ok(after);
    }
    if T::financial(&changes) {
        scope.require_recent_second_factor(now)?;
    }
    after.stamp_mut().updated_at = now;
    check_references(txn, &after)?;
    txn.save(Some(&before), &after)?;
    record_activity(txn, Some(&before), &after, &changes, &ctx)?;
    let fields: Vec<&str> = changes.fields().to_vec();
    audit(txn, now, event("record.updated", scope, T::KIND, &id, client).fields(&fields))?;
    Ok(after)
}

/// Deletes one record the caller may edit inside the caller's transaction (the single delete
/// path, with attached notes and tasks).
pub(crate) fn delete_checked_in<T: CrmRecord>(
    txn: &WorkspaceWrite<'_>,
    scope: &TenantScope,
    id: RecordId,
    now: i64,
    client: &ClientInfo,
) -> Result<DeletedFiles, AppError> {
    let record = txn.load::<T>(&id)?.ok_or(ErrorCode::NotFound)?;
    require_edit(scope, &record)?;
    let files = delete_in(txn, &record)?;
    audit(txn, now, event("record.deleted", scope, T::KIND, &id, client))?;
    Ok(files)
}

/// Deletes a record with its attached notes and tasks and their files (inside the caller's
/// transaction); answers the files' blobs, to remove once it commits.
pub(crate) fn delete_in<T: CrmRecord>(txn: &WorkspaceWrite<'_>, record: &T) -> Result<DeletedFiles, AppError> {
    let mut files = DeletedFiles::of(txn.delete_files_of(T::KIND, &record.id())?);
    if matches!(T::KIND, Kind::Company | Kind::Contact | Kind::Deal) {
        let subject = Subject { kind: T::KIND, id: record.id() };
        let filter = ParsedFilter { subject: Some(subject), ..Default::default() };
        for note in attached::<Note>(txn, &filter)? {
            files.extend(DeletedFiles::of(txn.delete_files_of(Kind::Note, &note.id)?));
            txn.delete(&note)?;
        }
        for task in attached::<Task>(txn, &filter)? {
            txn.delete(&task)?;
        }
    }
    if T::KIND == Kind::Company {
        // Its portal goes with it, and its clients can no longer sign in.
        txn.portal(record.id()).clear()?;
        for mut user in txn.users()?.into_iter().filter(|u| u.company == Some(record.id()) && !u.disabled) {
            user.disabled = true;
            txn.update_user(&user)?;
            txn.delete_sessions_of(&user.id)?;
        }
    }
    txn.delete(record)?;
    Ok(files)
}

/// Every record of kind `T` matching `filter` (bounded to 10,000).
pub(crate) fn attached<T: CrmRecord>(txn: &WorkspaceWrite<'_>, filter: &ParsedFilter) -> Result<Vec<T>, AppError> {
    let plan = T::plan(filter);
    let (index, records) = (txn.index()?, txn.records()?);
    let mut found = Vec::new();
    index.scan(T::KIND, plan.index, &plan.term, None, false, |row| {
        if let Some(record) = records.load::<T>(&row.id)?
            && record.matches(filter)
        {
            found.push(record);
        }
        Ok(found.len() < 10_000)
    })?;
    Ok(found)
}

/// The term of `row`, an index row of `plan`'s scan.
fn row_term<'a>(plan: &'a super::Plan, row: &'a IndexRow) -> super::RowTerm<'a> {
    super::RowTerm { prefix: &plan.term, rest: &row.after_prefix[..row.after_prefix.len().saturating_sub(16)] }
}

/// One page of a list from where `start` says: the index is scanned forwards from a cursor,
/// backwards from a `before` cursor (then the rows are turned round), or from the first row
/// stepping over a page number's worth of rows.
fn list_in<R: Reading<Of: CrmRecord>>(
    txn: &WorkspaceRead<'_>,
    filter: &ParsedFilter,
    start: &Start,
    limit: usize,
) -> Result<Listing<R>, AppError> {
    let plan = R::Of::plan(filter);
    let (index, records) = (txn.index()?, txn.records()?);
    let backwards = matches!(start, Start::Before(_));
    let (cursor, mut skip) = match start {
        Start::First => (None, 0),
        Start::After(c) | Start::Before(c) => (Some(c.as_slice()), 0),
        Start::Skip(rows) => (None, *rows),
    };
    // Unfiltered, every index row is one listed record: rows are stepped over by key alone.
    let by_key = !filter.narrows();
    if skip > SKIP_BUDGET || (!by_key && skip >= SCAN_BUDGET) {
        return Err(AppError::field(ErrorCode::InvalidFormat, "page"));
    }
    // `edge`: the furthest row the scan reached, where the next scan that way goes on.
    let (mut items, mut examined, mut edge, mut more) = (Vec::new(), 0usize, None, false);
    index.scan(R::Of::KIND, plan.index, &plan.term, cursor, plan.reverse != backwards, |row| {
        if by_key && skip > 0 {
            skip -= 1;
            return Ok(true);
        }
        examined += 1;
        if let Some(record) = records.read::<R>(&row.id)?
            && record.record().listed_at(filter, plan.index, &row_term(&plan, &row))
        {
            if skip > 0 {
                skip -= 1;
            } else if items.len() == limit {
                more = true;
                return Ok(false);
            } else {
                edge = Some(row.after_prefix.clone());
                items.push((record, row.after_prefix));
            }
        } else if examined >= SCAN_BUDGET {
            edge = Some(row.after_prefix);
            more = true;
            return Ok(false);
        }
        Ok(true)
    })?;
    if skip > 0 && more {
        // The budget ran out before the page was reached.
        return Err(AppError::field(ErrorCode::InvalidFormat, "page"));
    }
    let encode = |key: &Vec<u8>| URL_SAFE_NO_PAD.encode(key);
    let further = if more { edge.as_ref().map(encode) } else { None };
    if backwards {
        items.reverse();
    }
    let (first, last) = (items.first().map(|(_, k)| encode(k)), items.last().map(|(_, k)| encode(k)));
    let (prev_cursor, next_cursor) = match start {
        Start::Before(_) => (further, last),
        Start::After(c) => (first.or_else(|| Some(encode(c))), further),
        Start::Skip(_) => (first, further),
        Start::First => (None, further),
    };
    Ok(Listing { items: items.into_iter().map(|(r, _)| r).collect(), next_cursor, prev_cursor })
}

/// How many records `filter` lists: the kept count when nothing narrows the list, else the
/// matching rows of a scan of at most [`SCAN_BUDGET`] index rows (beyond it, "at least").
fn count_in<T: CrmRecord>(txn: &WorkspaceRead<'_>, filter: &ParsedFilter) -> Result<Total, AppError> {
    if !filter.narrows() {
        return Ok(Total::Exact(txn.record_count(T::KIND)?));
    }
    let plan = T::plan(filter);
    let (index, records) = (txn.index()?, txn.records()?);
    let (mut found, mut examined, mut stopped) = (0u64, 0usize, false);
    index.scan(T::KIND, plan.index, &plan.term, None, plan.reverse, |row| {
        if examined == SCAN_BUDGET {
            stopped = true;
            return Ok(false);
        }
        examined += 1;
        if let Some(record) = records.read::<Partial<T>>(&row.id)?
            && record.record().listed_at(filter, plan.index, &row_term(&plan, &row))
        {
            found += 1;
        }
        Ok(true)
    })?;
    Ok(if stopped { Total::AtLeast(found) } else { Total::Exact(found) })
}

/// One page of `candidates` (record ids, in id order after the cursor) that exist and match
/// `filter`: the listing of an exact lookup.
fn list_candidates_in<R: Reading<Of: CrmRecord>>(
    txn: &WorkspaceRead<'_>,
    filter: &ParsedFilter,
    mut candidates: Vec<RecordId>,
    cursor: Option<&[u8]>,
    limit: usize,
) -> Result<Listing<R>, AppError> {
    candidates.sort_unstable();
    candidates.dedup();
    let records = txn.records()?;
    let (mut items, mut next_cursor) = (Vec::new(), None);
    for id in candidates.iter().filter(|id| cursor.is_none_or(|c| id.as_bytes().as_slice() > c)) {
        // Opened whole: the sealed value looked up must be compared (a row shows less).
        let Some(record) = records.load::<R::Of>(id)? else { continue };
        if !record.matches(filter) {
            continue;
        }
        let record = R::opened(record);
        if items.len() == limit {
            next_cursor = items.last().map(|r: &R| URL_SAFE_NO_PAD.encode(r.record().id().as_bytes()));
            break;
        }
        items.push(record);
    }
    Ok(Listing { items, next_cursor, prev_cursor: None })
}

/// Someone who can own records.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Person {
    pub id: UserId,
    pub name: String,
}
