//! The CRM's records — companies, contacts, deals, notes and tasks — and how an input (a JSON
//! body or a submitted form) changes one. Every field is parsed by a `domain::fields` rule, so a
//! stored record is always well-formed. Absent input fields leave a value unchanged; an empty
//! string clears an optional one.

mod activity;
mod company;
mod contact;
mod deal;
mod timeline;

pub use activity::{Note, NoteInput, Task, TaskInput, TaskKind};
pub use company::{Company, CompanyInput};
pub use contact::{Contact, ContactInput, ContactStatus, EmailEntry, PhoneEntry, person_name};
pub use deal::{Deal, DealInput, Stage, StageOutcome, default_pipeline};
pub use timeline::TimelineEvent;

use serde::{Deserialize, Serialize};

use super::fields::{LINE_MAX, optional_line};
use super::ids::{RecordId, UserId};
use crate::error::{AppError, ErrorCode};

/// The five kinds of record. The byte is part of every CRM key: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Company,
    Contact,
    Deal,
    Note,
    Task,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Company, Kind::Contact, Kind::Deal, Kind::Note, Kind::Task];

    pub fn byte(self) -> u8 {
        match self {
            Kind::Company => 1,
            Kind::Contact => 2,
            Kind::Deal => 3,
            Kind::Note => 4,
            Kind::Task => 5,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Company => "company",
            Kind::Contact => "contact",
            Kind::Deal => "deal",
            Kind::Note => "note",
            Kind::Task => "task",
        }
    }

    /// The URL segment of the kind's pages and API resource (`/contacts/{id}`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Company => "companies",
            Kind::Contact => "contacts",
            Kind::Deal => "deals",
            Kind::Note => "notes",
            Kind::Task => "tasks",
        }
    }

    pub fn parse(input: &str, field: &'static str) -> Result<Kind, AppError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == input.trim())
            .ok_or_else(|| AppError::field(ErrorCode::InvalidFormat, field))
    }
}

/// What a note or task is about: a contact, company or deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subject {
    pub kind: Kind,
    pub id: RecordId,
}

impl Subject {
    pub fn parse(kind: &str, id: &str) -> Result<Subject, AppError> {
        let kind = Kind::parse(kind, "subject_kind")?;
        if !matches!(kind, Kind::Company | Kind::Contact | Kind::Deal) {
            return Err(AppError::field(ErrorCode::InvalidFormat, "subject_kind"));
        }
        let id = id.trim().parse().map_err(|_| AppError::field(ErrorCode::InvalidFormat, "subject_id"))?;
        Ok(Subject { kind, id })
    }
}

/// A postal address; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub country: String,
}

impl Address {
    /// Each part a single line: street up to 200 characters, the others up to 100.
    pub fn parse(input: &Address) -> Result<Address, AppError> {
        let part = |v: &str, max| optional_line(v, max, "address").map(Option::unwrap_or_default);
        Ok(Address {
            street: part(&input.street, LINE_MAX)?,
            city: part(&input.city, 100)?,
            postal_code: part(&input.postal_code, 100)?,
            region: part(&input.region, 100)?,
            country: part(&input.country, 100)?,
        })
    }

    /// One line for lists and cards.
    pub fn one_line(&self) -> String {
        [&self.street, &self.postal_code, &self.city, &self.region, &self.country]
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Who created and last changed a record, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stamp {
    pub created_at: i64,
    pub created_by: UserId,
    pub updated_at: i64,
}

/// Collects the names of the fields an input changed (for the timeline and the audit log).
#[derive(Debug, Default)]
pub struct Changes(Vec<&'static str>);

impl Changes {
    /// Sets `slot` to `value`, noting `field` when it differs.
    pub fn set<T: PartialEq>(&mut self, slot: &mut T, value: T, field: &'static str) {
        if *slot != value {
            *slot = value;
            self.0.push(field);
        }
    }

    pub fn fields(&self) -> &[&'static str] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, field: &str) -> bool {
        self.0.contains(&field)
    }
}

/// Parses an optional value with `parse` unless it is blank (blank clears it).
pub fn optional<T>(input: &str, parse: impl FnOnce(&str) -> Result<T, AppError>) -> Result<Option<T>, AppError> {
    if input.trim().is_empty() { Ok(None) } else { parse(input).map(Some) }
}

/// Parses an optional user id (blank: none).
pub fn user_id(input: &str, field: &'static str) -> Result<Option<UserId>, AppError> {
    optional(input, |s| s.trim().parse().map_err(|_| AppError::field(ErrorCode::InvalidFormat, field)))
}

/// Parses an optional record id (blank: none).
pub fn record_id(input: &str, field: &'static str) -> Result<Option<RecordId>, AppError> {
    optional(input, |s| s.trim().parse().map_err(|_| AppError::field(ErrorCode::InvalidFormat, field)))
}

/// The sort key of a display name: lower-case, at most 48 bytes, cut on a character boundary.
pub fn sort_key(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    let mut end = lower.len().min(48);
    while !lower.is_char_boundary(end) {
        end -= 1;
    }
    lower[..end].to_owned()
}
