//! What of each kind of record is searchable, taken from the record as stored: names, emails,
//! phones, company, tags, website, deal name and stage, note text, task title, and the names of
//! attached files (never their contents). Confidential
//! fields (tax id, date of birth) and money are never indexed (DESIGN invariant 4). The same
//! text serves indexing and the snippets of hits.

use redb::ReadableTable;

use crate::app::crm::CrmRecord;
use std::borrow::Borrow;

use crate::app::store::crm::{Closed, Entity, Partial, Reading, RecordsTable};
use crate::domain::crm::{Company, Contact, Deal, Kind, Note, Task};
use crate::domain::ids::{RecordId, UserId, WorkspaceId};
use crate::error::AppError;

/// One searchable text of a record (e.g. an email address), shown as a snippet when it matches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Part {
    pub text: String,
}

/// Everything the index holds of one record.
#[derive(Debug, Clone)]
pub(crate) struct SearchDoc {
    pub workspace: WorkspaceId,
    pub kind: Kind,
    pub id: RecordId,
    pub owner: Option<UserId>,
    pub updated_at: i64,
    pub title: String,
    pub parts: Vec<Part>,
    /// Keyed blind-index terms of phone numbers and tax ids (exact lookups only).
    pub blind: Vec<String>,
}

/// Adds the names of a record's files to its document (their contents are never indexed).
pub(crate) fn add_file_names(doc: &mut SearchDoc, names: Vec<String>) {
    doc.parts.extend(names.into_iter().map(|text| Part { text }));
}

/// How a loaded record is held: whole (to index it) or with its sealed fields closed (a hit:
/// its title and snippet never show one).
pub(crate) trait Shape {
    type Of<T: Entity>: Reading<Of = T> + Borrow<T>;
}

/// Every sealed field open: what the indexer reads (phones and tax ids become blind terms).
pub(crate) enum Whole {}

/// No sealed field open: what a search hit is shown from.
pub(crate) enum Hit {}

impl Shape for Whole {
    type Of<T: Entity> = T;
}

impl Shape for Hit {
    type Of<T: Entity> = Partial<T, Closed>;
}

/// A stored record of any kind.
pub(crate) enum AnyRecord<S: Shape = Whole> {
    Company(S::Of<Company>),
    Contact(S::Of<Contact>),
    Deal(S::Of<Deal>),
    Note(S::Of<Note>),
    Task(S::Of<Task>),
}

impl<S: Shape> AnyRecord<S> {
    /// The record, whatever its shape.
    pub fn shown(&self) -> Shown<'_> {
        match self {
            AnyRecord::Company(r) => Shown::Company(r.borrow()),
            AnyRecord::Contact(r) => Shown::Contact(r.borrow()),
            AnyRecord::Deal(r) => Shown::Deal(r.borrow()),
            AnyRecord::Note(r) => Shown::Note(r.borrow()),
            AnyRecord::Task(r) => Shown::Task(r.borrow()),
        }
    }
}

/// A loaded record of any kind, borrowed: what titles, snippets and documents are made from.
#[derive(Clone, Copy)]
pub(crate) enum Shown<'a> {
    Company(&'a Company),
    Contact(&'a Contact),
    Deal(&'a Deal),
    Note(&'a Note),
    Task(&'a Task),
}

/// Loads one record in shape `S` (absent: `None`).
pub(crate) fn load<S: Shape>(
    records: &RecordsTable<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    kind: Kind,
    id: &RecordId,
) -> Result<Option<AnyRecord<S>>, AppError> {
    Ok(match kind {
        Kind::Company => records.read::<S::Of<Company>>(id)?.map(AnyRecord::Company),
        Kind::Contact => records.read::<S::Of<Contact>>(id)?.map(AnyRecord::Contact),
        Kind::Deal => records.read::<S::Of<Deal>>(id)?.map(AnyRecord::Deal),
        Kind::Note => records.read::<S::Of<Note>>(id)?.map(AnyRecord::Note),
        Kind::Task => records.read::<S::Of<Task>>(id)?.map(AnyRecord::Task),
    })
}

/// The title and page of one record, for a suggestion: read from its title fields alone,
/// except a note's (its page is its subject's).
pub(crate) fn title_and_link(
    records: &RecordsTable<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    kind: Kind,
    id: &RecordId,
) -> Result<Option<(String, String)>, AppError> {
    use crate::app::crm::titles::stored_title;
    let title = match kind {
        Kind::Note => {
            return Ok(load::<Hit>(records, kind, id)?.map(|note| (note.shown().title(), note.shown().link())));
        }
        Kind::Company => stored_title::<Company>(records, id)?,
        Kind::Contact => stored_title::<Contact>(records, id)?,
        Kind::Deal => stored_title::<Deal>(records, id)?,
        Kind::Task => stored_title::<Task>(records, id)?,
    };
    Ok(title.map(|title| (title, page_of(kind, id))))
}

/// The page of a record shown on its own page (every kind but notes).
fn page_of(kind: Kind, id: &RecordId) -> String {
    format!("/{}/{id}", kind.plural())
}

fn text(value: &str) -> Option<Part> {
    let value = value.trim();
    (!value.is_empty()).then(|| Part { text: value.to_owned() })
}

impl Shown<'_> {
    pub fn kind(&self) -> Kind {
        match self {
            Shown::Company(_) => Kind::Company,
            Shown::Contact(_) => Kind::Contact,
            Shown::Deal(_) => Kind::Deal,
            Shown::Note(_) => Kind::Note,
            Shown::Task(_) => Kind::Task,
        }
    }

    pub fn title(&self) -> String {
        match self {
            Shown::Company(r) => r.title(),
            Shown::Contact(r) => r.title(),
            Shown::Deal(r) => r.title(),
            Shown::Note(r) => r.title(),
            Shown::Task(r) => r.title(),
        }
    }

    /// The company this record names, whose name is searchable with it.
    pub fn company_id(&self) -> Option<RecordId> {
        match self {
            Shown::Contact(r) => r.company_id,
            Shown::Deal(r) => r.company_id,
            _ => None,
        }
    }

    /// What tells this record from another of the same name: a contact's company (else its
    /// email), a deal's company, a company's website.
    pub fn context(&self, company: Option<String>) -> String {
        match self {
            Shown::Contact(c) => company.or_else(|| c.primary_email().map(str::to_owned)).unwrap_or_default(),
            Shown::Deal(_) => company.unwrap_or_default(),
            Shown::Company(c) => c.website.as_ref().map(|w| w.domain()).unwrap_or_default(),
            Shown::Note(_) | Shown::Task(_) => String::new(),
        }
    }

    /// The page that shows the record (a note is shown on its subject's page).
    pub fn link(&self) -> String {
        match self {
            Shown::Note(n) => format!("/{}/{}", n.subject_kind.plural(), n.subject_id),
            other => page_of(other.kind(), &other.id()),
        }
    }

    pub fn id(&self) -> RecordId {
        match self {
            Shown::Company(r) => r.id,
            Shown::Contact(r) => r.id,
            Shown::Deal(r) => r.id,
            Shown::Note(r) => r.id,
            Shown::Task(r) => r.id,
        }
    }

    /// The searchable document; `company` is the name of [`Self::company_id`] (if found).
    /// Sealed fields (phones, addresses, tax ids, birth dates) never reach the index: phones
    /// and tax ids are found by exact value through `blind` (keyed blind-index terms).
    pub fn search_doc(
        &self,
        workspace: WorkspaceId,
        company: Option<String>,
        blind: &dyn Fn(&str, &str) -> String,
    ) -> SearchDoc {
        use crate::app::crm::index_terms::{PHONE_FIELD, TAX_ID_FIELD, phone_search_terms, tax_id_normalised};
        let phone_terms = |number: &str| phone_search_terms(number).into_iter().map(|d| blind(PHONE_FIELD, &d));
        let tax = |t: &Option<String>| t.iter().map(|t| blind(TAX_ID_FIELD, &tax_id_normalised(t))).collect::<Vec<_>>();
        let company = company.as_deref().and_then(text);
        let (owner, updated_at, parts, phones): (UserId, i64, Vec<Option<Part>>, Vec<String>) = match self {
            Shown::Company(c) => {
                let mut parts = vec![text(&c.name)];
                parts.extend(c.website.as_ref().map(|w| text(&w.domain())));
                parts.extend([c.industry.as_deref().and_then(text), text(&c.tags.join(" ")), text(&c.description)]);
                let mut terms: Vec<String> = c.phone.iter().flat_map(|p| phone_terms(p.as_str())).collect();
                terms.extend(tax(&c.tax_id));
                (c.owner_id, c.stamp.updated_at, parts, terms)
            }
            Shown::Contact(c) => {
                let mut parts = vec![text(&c.full_name()), c.title.as_deref().and_then(text), company];
                parts.extend(c.emails.iter().map(|e| text(&e.address)));
                parts.extend([text(&c.tags.join(" ")), text(&c.background)]);
                let mut terms: Vec<String> = c.phones.iter().flat_map(|p| phone_terms(&p.number)).collect();
                terms.extend(tax(&c.tax_id));
                (c.owner_id, c.stamp.updated_at, parts, terms)
            }
            Shown::Deal(d) => {
                let parts = vec![text(&d.name), company, text(&d.stage), d.close_reason.as_deref().and_then(text)];
                (d.owner_id, d.stamp.updated_at, parts, Vec::new())
            }
            Shown::Note(n) => {
                (n.author_id, n.stamp.updated_at, vec![text(&crate::app::crm::titles::note_text(&n.body))], Vec::new())
            }
            Shown::Task(t) => {
                (t.assignee_id, t.stamp.updated_at, vec![text(&t.title), text(t.kind.as_str())], Vec::new())
            }
        };
        SearchDoc {
            workspace,
            kind: self.kind(),
            id: self.id(),
            owner: Some(owner),
            updated_at,
            title: self.title(),
            parts: parts.into_iter().flatten().collect(),
            blind: phones,
        }
    }
}

/// The name of a company, for the documents that mention it.
pub(crate) fn company_name(
    records: &RecordsTable<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    id: Option<RecordId>,
) -> Result<Option<String>, AppError> {
    match id {
        Some(id) => crate::app::crm::titles::stored_title::<Company>(records, &id),
        None => Ok(None),
    }
}
