//! The CRM services: one generic create/read/update/delete/list path shared by every kind of
//! record, HTML pages, the JSON API and the CLI. Each kind says how it is created, changed,
//! indexed and checked (`CrmRecord`); the service makes each change one write transaction with
//! the record, its indexes, timeline, search outbox row and audit entry.

mod company;
mod contact;

mod bulk;
pub mod dashboard;
mod deal;
pub mod export;
pub mod import;
mod import_revert;
pub(crate) mod import_rows;
pub(crate) mod index_terms;
pub mod merge;
mod note;
pub mod pipeline;
pub mod privacy;
pub mod records;
pub mod saved_views;
pub mod seed;
pub mod tags;
mod task;
pub(crate) mod titles;
pub mod undo;
pub mod vcard;

pub use records::{Listing, RecordView, Total};
pub use saved_views::{NewView, SavedView};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::store::crm::Entity;
use crate::domain::crm::{Changes, ContactStatus, Kind, Stage, Subject};
use crate::domain::fields::Day;
use crate::domain::ids::{RecordId, UserId};
use crate::error::{AppError, ErrorCode};
use records::{DEFAULT_LIMIT, MAX_LIMIT};

/// What creating or changing a record may depend on besides its input.
pub struct WriteContext<'a> {
    pub now: i64,
    pub by: UserId,
    pub pipeline: &'a [Stage],
}

/// Something a record points at, checked to exist in the same workspace before it is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    User(UserId, &'static str),
    Record(Kind, RecordId, &'static str),
}

/// How a list is narrowed and ordered. Every filter is optional; `sort` is `name` (default)
/// or `newest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Deserialize)]
pub struct ListFilter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub assignee: String,
    /// `open` or `done` (tasks); `active` or `archived` (deals).
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub subject_kind: String,
    #[serde(default)]
    pub subject_id: String,
    /// Only records created on or after this date (YYYY-MM-DD).
    #[serde(default)]
    pub created_from: String,
    /// Only records created before the end of this date.
    #[serde(default)]
    pub created_to: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub cursor: String,
    /// The page before this cursor (a listing's `prev_cursor`).
    #[serde(default)]
    pub before: String,
    /// The page's number (1 = first). With a cursor it only says where the page is; alone it
    /// jumps there (see [`Start::Skip`]).
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub limit: Option<usize>,
}

impl ListFilter {
    /// The query as services take it: every value parsed (ids, enums, dates), the cursor
    /// decoded and the page bounded. Parsed at the edge, so a service never sees text.
    pub fn parse(&self) -> Result<ListQuery, AppError> {
        let mut query = ListQuery::first(parse_filter(self)?, self.limit.unwrap_or(DEFAULT_LIMIT));
        query.after(&self.cursor)?;
        if !self.before.trim().is_empty() {
            query.start = Start::Before(decode_cursor(&self.before)?);
        } else if matches!(query.start, Start::First) && self.page_number()? > 1 {
            query.start = Start::Skip((self.page_number()? - 1).saturating_mul(query.limit));
        }
        Ok(query)
    }

    /// The page's number: 1 unless `page` says otherwise (E2004 when it is no number).
    pub fn page_number(&self) -> Result<usize, AppError> {
        match self.page.trim() {
            "" => Ok(1),
            text => text
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| AppError::field(ErrorCode::InvalidFormat, "page")),
        }
    }

    /// Whether a page of this filter is read from the store alone, so it can be kept until the
    /// store's next commit ([`crate::app::ViewCache`]). A phone number or tax id is looked up in
    /// the search index, which commits apart from the store: those pages are always read afresh.
    pub fn reads_store_only(&self) -> bool {
        index_terms::exact_probe(self.q.trim()).is_none()
    }
}

/// Which index a list scans: rows under `index ‖ term`, forwards or backwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub index: u8,
    pub term: Vec<u8>,
    pub reverse: bool,
}

/// The term of an index row as the scan met it: the plan's prefix and the rest of the key
/// before the record id (compared in place, without joining them).
#[derive(Debug, Clone, Copy)]
pub struct RowTerm<'a> {
    pub prefix: &'a [u8],
    pub rest: &'a [u8],
}

impl RowTerm<'_> {
    /// Whether the row's term is exactly `term`.
    pub fn is(&self, term: &[u8]) -> bool {
        term.len() == self.prefix.len() + self.rest.len()
            && term.starts_with(self.prefix)
            && &term[self.prefix.len()..] == self.rest
    }
}

impl Plan {
    /// Newest first: the creation-time index backwards, every other filter checked on each
    /// row (an index by tag or owner is in name order, so it can't give this order).
    pub fn newest() -> Plan {
        Plan { index: index_terms::CREATED, term: Vec::new(), reverse: true }
    }
}

/// A kind of CRM record, as the generic service handles it.
pub(crate) trait CrmRecord: Entity + Serialize {
    type Input: DeserializeOwned + Default + Send + Sync + 'static;

    fn create(id: RecordId, input: Self::Input, ctx: &WriteContext<'_>) -> Result<(Self, Changes), AppError>;
    /// Applies `input` all or nothing.
    fn apply(&mut self, input: Self::Input, ctx: &WriteContext<'_>) -> Result<Changes, AppError>;
    /// The fields the title is made of, read alone from the stored record: names shown beside
    /// other records parse nothing else and open nothing sealed.
    type TitleFields: DeserializeOwned + Into<String>;
    /// The record's display name.
    fn title(&self) -> String;
    /// Who may edit it with only `EditOwnRecords` (owner, assignee, author).
    fn editors(&self) -> Vec<UserId>;
    fn references(&self) -> Vec<Reference>;
    fn stamp(&self) -> &crate::domain::crm::Stamp;
    fn stamp_mut(&mut self) -> &mut crate::domain::crm::Stamp;
    /// The record a note or task is attached to.
    fn subject(&self) -> Option<Subject> {
        None
    }
    /// Whether these changes touch financial fields (step-up required, audited).
    fn financial(_changes: &Changes) -> bool {
        false
    }
    /// A fixed-form detail for the timeline entry of these changes (e.g. a stage move).
    fn change_detail(_before: &Self, _after: &Self, _ctx: &WriteContext<'_>) -> Option<String> {
        None
    }
    fn plan(filter: &ParsedFilter) -> Plan;
    fn matches(&self, filter: &ParsedFilter) -> bool;
    /// Whether the record, reached through `row` of the plan's index, belongs in the listing:
    /// a record with several terms under one index is listed at one of them.
    fn listed_at(&self, filter: &ParsedFilter, _index: u8, _row: &RowTerm<'_>) -> bool {
        self.matches(filter)
    }
    /// The change a bulk action makes to this record (`None`: not applicable to this kind).
    fn bulk_input(&self, _action: &BulkAction) -> Option<Self::Input> {
        None
    }
    /// Index terms under which a record like `input` would already exist (same email, same
    /// company name): the duplicate warning on create.
    fn duplicate_probes(_input: &Self::Input) -> Vec<(u8, Vec<u8>)> {
        Vec::new()
    }
}

/// A change applied to many selected records at once (managers and up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    AddTag(String),
    /// Set the owner (contacts, companies, deals) or assignee (tasks).
    Assign(UserId),
    /// Needs a fresh second factor.
    Delete,
}

/// Where a page of a list starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Start {
    #[default]
    First,
    /// After this index row (a listing's `next_cursor`): a seek, however deep.
    After(Vec<u8>),
    /// The page ending just before this index row (a listing's `prev_cursor`): the index
    /// scanned the other way from it, so going back is a seek too.
    Before(Vec<u8>),
    /// After this many listed rows: "jump to page N". The one start a B-tree can't seek to (it
    /// keeps no row counts), so the rows are stepped over, a bounded number of them.
    Skip(usize),
}

/// One page of a list as services take it (see [`ListFilter::parse`]).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: ParsedFilter,
    pub start: Start,
    /// Rows on the page, between 1 and [`MAX_LIMIT`].
    pub limit: usize,
}

impl ListQuery {
    /// The first page of `filter`, `limit` rows long (bounded).
    pub fn first(filter: ParsedFilter, limit: usize) -> ListQuery {
        ListQuery { filter, start: Start::First, limit: limit.clamp(1, MAX_LIMIT) }
    }

    /// Moves to the page after `cursor` (a listing's `next_cursor`; empty: the first page).
    pub fn after(&mut self, cursor: &str) -> Result<(), AppError> {
        self.start = match cursor.trim() {
            "" => Start::First,
            text => Start::After(decode_cursor(text)?),
        };
        Ok(())
    }
}

fn decode_cursor(text: &str) -> Result<Vec<u8>, AppError> {
    URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| AppError::field(ErrorCode::InvalidFormat, "cursor"))
}

/// A list filter with its values parsed.
#[derive(Debug, Clone, Default)]
pub struct ParsedFilter {
    pub q: String,
    pub tag: Option<String>,
    pub owner: Option<UserId>,
    pub status: Option<crate::domain::crm::ContactStatus>,
    pub company: Option<RecordId>,
    pub contact: Option<RecordId>,
    pub stage: Option<String>,
    pub assignee: Option<UserId>,
    /// `Some(true)`: done tasks / archived deals only; `Some(false)`: open / active only.
    pub closed: Option<bool>,
    pub subject: Option<Subject>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub newest_first: bool,
    /// "By name" asked for explicitly (tasks otherwise list by due date).
    pub by_name: bool,
    /// An exact lookup of a sealed field (set by the service, which finds the candidates
    /// through the keyed blind index of the search index).
    pub exact: Option<Exact>,
}

/// An exact-match probe: which sealed field ([`index_terms::PHONE`] or [`index_terms::TAX_ID`]) and the
/// normalised value records are checked against after they are opened.
#[derive(Debug, Clone, Default)]
pub struct Exact {
    pub index: u8,
    pub value: String,
}

impl ParsedFilter {
    /// Whether any filter narrows the list (the order aside): if none does, every record of
    /// the kind is listed, once.
    pub fn narrows(&self) -> bool {
        let ParsedFilter {
            q,
            tag,
            owner,
            status,
            company,
            contact,
            stage,
            assignee,
            closed,
            subject,
            created_from,
            created_to,
            newest_first: _,
            by_name: _,
            exact,
        } = self;
        !q.trim().is_empty()
            || tag.is_some()
            || owner.is_some()
            || status.is_some()
            || company.is_some()
            || contact.is_some()
            || stage.is_some()
            || assignee.is_some()
            || closed.is_some()
            || subject.is_some()
            || created_from.is_some()
            || created_to.is_some()
            || exact.is_some()
    }

    /// Whether `created_at` lies in the requested date range.
    pub fn created_in_range(&self, created_at: i64) -> bool {
        self.created_from.is_none_or(|from| created_at >= from) && self.created_to.is_none_or(|to| created_at < to)
    }

    /// Whether `name` starts with the query (case-insensitive).
    pub fn name_matches(&self, names: &[&str]) -> bool {
        let q = self.q.trim().to_lowercase();
        q.is_empty() || names.iter().any(|n| n.to_lowercase().starts_with(&q))
    }
}

fn parse_filter(filter: &ListFilter) -> Result<ParsedFilter, AppError> {
    use crate::domain::crm::{optional, record_id, user_id};
    let created = |text: &str, field, end: bool| {
        optional(text, |s| Day::parse(s, field)).map(|d| d.map(|d| (i64::from(d.ordinal()) + i64::from(end)) * 86_400))
    };
    let q = filter.q.trim();
    if q.chars().count() > 200 {
        return Err(AppError::field(ErrorCode::TooLong, "q"));
    }
    Ok(ParsedFilter {
        q: q.to_owned(),
        tag: optional(&filter.tag, |s| crate::domain::fields::tag(s, "tag"))?,
        owner: user_id(&filter.owner, "owner")?,
        status: optional(&filter.status, ContactStatus::parse)?,
        company: record_id(&filter.company, "company")?,
        contact: record_id(&filter.contact, "contact")?,
        stage: optional(&filter.stage, |s| Ok(s.trim().to_owned()))?,
        assignee: user_id(&filter.assignee, "assignee")?,
        closed: match filter.state.trim() {
            "" | "all" => None,
            "open" | "active" => Some(false),
            "done" | "archived" => Some(true),
            _ => return Err(AppError::field(ErrorCode::InvalidFormat, "state")),
        },
        subject: match (filter.subject_kind.trim(), filter.subject_id.trim()) {
            ("", "") => None,
            (kind, id) => Some(Subject::parse(kind, id)?),
        },
        created_from: created(&filter.created_from, "created_from", false)?,
        created_to: created(&filter.created_to, "created_to", true)?,
        newest_first: match filter.sort.trim() {
            "" | "name" | "due" => false,
            "newest" => true,
            _ => return Err(AppError::field(ErrorCode::InvalidFormat, "sort")),
        },
        by_name: filter.sort.trim() == "name",
        exact: None,
    })
}

#[cfg(test)]
mod tests {
    use super::ListFilter;

    #[test]
    fn pages_found_through_the_search_index_are_never_kept() {
        let q = |q: &str| ListFilter { q: q.into(), tag: "vip".into(), ..Default::default() };
        for fresh in ["+44 20 7946 0958", "DE-123456789"] {
            assert!(!q(fresh).reads_store_only(), "{fresh}: a blind-index lookup");
        }
        for kept in ["", "ada", "ada@example.com"] {
            assert!(q(kept).reads_store_only(), "{kept:?}: the store's own indexes");
        }
    }
}
