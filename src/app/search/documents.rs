//! What of each kind of record is searchable, taken from the record as stored: names, emails,
//! phones, company, tags, website, deal name and stage, note text, task title. Confidential
//! fields (tax id, date of birth) and money are never indexed (DESIGN invariant 4). The same
//! text serves indexing and the snippets of hits.

use redb::ReadableTable;

use crate::app::crm::CrmRecord;
use crate::app::store::crm::Records;
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

/// A stored record of any kind.
#[derive(Debug, Clone)]
pub(crate) enum AnyRecord {
    Company(Company),
    Contact(Contact),
    Deal(Deal),
    Note(Note),
    Task(Task),
}

/// Loads one record (absent: `None`).
pub(crate) fn load(
    records: &Records<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    kind: Kind,
    id: &RecordId,
) -> Result<Option<AnyRecord>, AppError> {
    Ok(match kind {
        Kind::Company => records.load::<Company>(id)?.map(AnyRecord::Company),
        Kind::Contact => records.load::<Contact>(id)?.map(AnyRecord::Contact),
        Kind::Deal => records.load::<Deal>(id)?.map(AnyRecord::Deal),
        Kind::Note => records.load::<Note>(id)?.map(AnyRecord::Note),
        Kind::Task => records.load::<Task>(id)?.map(AnyRecord::Task),
    })
}

/// The title and page of one record, for a suggestion: read from its title fields alone,
/// except a note's (its page is its subject's).
pub(crate) fn title_and_link(
    records: &Records<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    kind: Kind,
    id: &RecordId,
) -> Result<Option<(String, String)>, AppError> {
    use crate::app::crm::titles::stored_title;
    let title = match kind {
        Kind::Note => return Ok(load(records, kind, id)?.map(|note| (note.title(), note.link()))),
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

impl AnyRecord {
    pub fn kind(&self) -> Kind {
        match self {
            AnyRecord::Company(_) => Kind::Company,
            AnyRecord::Contact(_) => Kind::Contact,
            AnyRecord::Deal(_) => Kind::Deal,
            AnyRecord::Note(_) => Kind::Note,
            AnyRecord::Task(_) => Kind::Task,
        }
    }

    pub fn title(&self) -> String {
        match self {
            AnyRecord::Company(r) => r.title(),
            AnyRecord::Contact(r) => r.title(),
            AnyRecord::Deal(r) => r.title(),
            AnyRecord::Note(r) => r.title(),
            AnyRecord::Task(r) => r.title(),
        }
    }

    /// The company this record names, whose name is searchable with it.
    pub fn company_id(&self) -> Option<RecordId> {
        match self {
            AnyRecord::Contact(r) => r.company_id,
            AnyRecord::Deal(r) => r.company_id,
            _ => None,
        }
    }

    /// What tells this record from another of the same name: a contact's company (else its
    /// email), a deal's company, a company's website.
    pub fn context(&self, company: Option<String>) -> String {
        match self {
            AnyRecord::Contact(c) => company.or_else(|| c.primary_email().map(str::to_owned)).unwrap_or_default(),
            AnyRecord::Deal(_) => company.unwrap_or_default(),
            AnyRecord::Company(c) => c.website.as_ref().map(|w| w.domain()).unwrap_or_default(),
            AnyRecord::Note(_) | AnyRecord::Task(_) => String::new(),
        }
    }

    /// The page that shows the record (a note is shown on its subject's page).
    pub fn link(&self) -> String {
        match self {
            AnyRecord::Note(n) => format!("/{}/{}", n.subject_kind.plural(), n.subject_id),
            other => page_of(other.kind(), &other.id()),
        }
    }

    pub fn id(&self) -> RecordId {
        match self {
            AnyRecord::Company(r) => r.id,
            AnyRecord::Contact(r) => r.id,
            AnyRecord::Deal(r) => r.id,
            AnyRecord::Note(r) => r.id,
            AnyRecord::Task(r) => r.id,
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
            AnyRecord::Company(c) => {
                let mut parts = vec![text(&c.name)];
                parts.extend(c.website.as_ref().map(|w| text(&w.domain())));
                parts.extend([c.industry.as_deref().and_then(text), text(&c.tags.join(" ")), text(&c.description)]);
                let mut terms: Vec<String> = c.phone.iter().flat_map(|p| phone_terms(p.as_str())).collect();
                terms.extend(tax(&c.tax_id));
                (c.owner_id, c.stamp.updated_at, parts, terms)
            }
            AnyRecord::Contact(c) => {
                let mut parts = vec![text(&c.full_name()), c.title.as_deref().and_then(text), company];
                parts.extend(c.emails.iter().map(|e| text(&e.address)));
                parts.extend([text(&c.tags.join(" ")), text(&c.background)]);
                let mut terms: Vec<String> = c.phones.iter().flat_map(|p| phone_terms(&p.number)).collect();
                terms.extend(tax(&c.tax_id));
                (c.owner_id, c.stamp.updated_at, parts, terms)
            }
            AnyRecord::Deal(d) => {
                let parts = vec![text(&d.name), company, text(&d.stage), d.close_reason.as_deref().and_then(text)];
                (d.owner_id, d.stamp.updated_at, parts, Vec::new())
            }
            AnyRecord::Note(n) => {
                (n.author_id, n.stamp.updated_at, vec![text(&crate::app::crm::titles::note_text(&n.body))], Vec::new())
            }
            AnyRecord::Task(t) => {
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
    records: &Records<'_, impl ReadableTable<&'static [u8], &'static [u8]>>,
    id: Option<RecordId>,
) -> Result<Option<String>, AppError> {
    match id {
        Some(id) => crate::app::crm::titles::stored_title::<Company>(records, &id),
        None => Ok(None),
    }
}
