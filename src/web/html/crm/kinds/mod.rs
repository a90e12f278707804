//! How each kind of record appears on the pages: its form fields and input, its list columns,
//! its facts and related records. The handlers are generic over these two traits.

mod company;
mod contact;
mod deal;
mod note;
mod task;

pub use deal::amount as deal_amount;

use std::collections::HashMap;

use super::values::{Field, Picker, Values};
use crate::app::crm::CrmRecord;
use crate::app::crm::records::Person;
use crate::domain::crm::{ContactStatus, Kind, Stage, Subject};
use crate::domain::ids::{RecordId, UserId};
use crate::error::AppError;

/// A record that a form creates or edits.
pub(crate) trait FormKind: CrmRecord {
    /// "contact", as in "Unable to save contact".
    const NOUN: &'static str;
    /// The edit form's values for this record.
    fn values(&self) -> Values;
    /// The form's fields, filled from `values`.
    fn fields(values: &Values, choices: &Choices, creating: bool) -> Vec<Field>;
    /// The service input of a submitted form (every shown field is sent: "" clears).
    fn input(values: &Values, creating: bool) -> Result<Self::Input, AppError>;
    /// The facts that can be edited on their own, from the record's page.
    const INLINE: &'static [Inline] = &[];
    /// Where a saved record is shown.
    fn saved_path(&self) -> String {
        path(Self::KIND, &self.id())
    }
    /// Where the edit form's Cancel leads (the form's `values` at hand).
    fn cancel_path(id: &RecordId, _values: &Values) -> String {
        path(Self::KIND, id)
    }
}

/// A record with a list and a page of its own.
pub(crate) trait PageKind: FormKind {
    /// "Contacts".
    const TITLE: &'static str;
    /// Which filters the list offers (`status`, `tag`, `owner`, `company`, `stage`, `state`).
    const FILTERS: &'static [&'static str];
    const COLUMNS: &'static [&'static str];
    /// The facts the page's header shows, by label, in this order.
    const KEY_FACTS: &'static [&'static str];
    /// Whether the page's header shows an initials avatar (people and companies).
    const AVATAR: bool = false;
    /// The columns whose header sorts the list, and the `sort` each gives (indexed orders).
    const SORTS: &'static [(&'static str, &'static str)] = &[("Name", "name")];
    /// The `sort` the list is in when none is asked for.
    const DEFAULT_SORT: &'static str = "name";
    fn row(&self, names: &Names) -> Vec<Cell>;
    fn facts(&self, names: &Names) -> Vec<Fact>;
    fn tags(&self) -> &[String] {
        &[]
    }
    fn company_id(&self) -> Option<RecordId> {
        None
    }
    /// Where this record's page leads to the client portal, and the button's words: a
    /// company's portal page; for a person of a company, its invitation form filled in.
    fn portal_link(&self) -> Option<(String, &'static str)> {
        None
    }
    /// Whether this is a task still to do (its page offers the done button).
    fn open_task(&self) -> bool {
        false
    }
    /// Other records shown on this record's page.
    fn relations(&self) -> Vec<Relation> {
        Vec::new()
    }
}

/// The page of a record.
pub fn path(kind: Kind, id: &RecordId) -> String {
    format!("/{}/{id}", kind.plural())
}

/// A table cell: text, optionally a link.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub link: Option<String>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), link: None }
    }

    pub fn link(text: impl Into<String>, link: String) -> Self {
        Self { text: text.into(), link: Some(link) }
    }
}

/// A labelled value on a record page.
pub type Fact = (&'static str, Cell);

/// A fact edited on its own: its label and the form fields that hold it; `key` (the first
/// field, as in `/{kind}/{id}/edit?field=key`) names it.
#[derive(Debug)]
pub struct Inline {
    pub label: &'static str,
    pub key: &'static str,
    /// The fact's other fields (an address's city, postal code…).
    pub rest: &'static [&'static str],
}

impl Inline {
    /// A fact held by one field.
    pub const fn of(label: &'static str, key: &'static str) -> Self {
        Self { label, key, rest: &[] }
    }

    /// Whether form field `name` belongs to this fact.
    pub fn holds(&self, name: &str) -> bool {
        self.key == name || self.rest.contains(&name)
    }

    /// The inline edit of `T` named `key`.
    pub fn find<T: FormKind>(key: &str) -> Option<&'static Inline> {
        T::INLINE.iter().find(|inline| inline.key == key)
    }
}

/// An address edited on its own (a contact's or a company's).
pub const ADDRESS_INLINE: Inline =
    Inline { label: "Address", key: "street", rest: &["city", "postal_code", "region", "country"] };

/// Records shown on another's page.
#[derive(Debug, Clone)]
pub enum Relation {
    /// Contacts of a company.
    ContactsOf(RecordId),
    /// Deals of a company.
    DealsOfCompany(RecordId),
    /// Deals a contact takes part in.
    DealsOfContact(RecordId),
    /// The named contacts (a deal's).
    Contacts(Vec<RecordId>),
}

/// Display names for ids: people, companies and the records tasks are about.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub people: HashMap<UserId, String>,
    pub companies: HashMap<RecordId, String>,
    /// Titles of the contacts and deals tasks are about, by id (their companies are in
    /// `companies`).
    pub subjects: HashMap<RecordId, String>,
    /// Stage labels by key (deal pages).
    pub stages: HashMap<String, String>,
}

impl Names {
    pub fn person(&self, id: &UserId) -> String {
        self.people.get(id).cloned().unwrap_or_else(|| "(former user)".into())
    }

    pub fn stage(&self, key: &str) -> String {
        self.stages.get(key).cloned().unwrap_or_else(|| key.to_owned())
    }

    /// The record a task is about, as a link titled with its name.
    pub fn subject(&self, subject: Option<Subject>) -> Cell {
        match subject {
            Some(Subject { kind, id }) => {
                let titles = if kind == Kind::Company { &self.companies } else { &self.subjects };
                let title = titles.get(&id).cloned().unwrap_or_else(|| format!("(deleted {})", kind.as_str()));
                Cell::link(title, path(kind, &id))
            }
            None => Cell::default(),
        }
    }

    /// The company as a link to its page.
    pub fn company(&self, id: &Option<RecordId>) -> Cell {
        match id {
            Some(id) => Cell::link(self.companies.get(id).cloned().unwrap_or_default(), path(Kind::Company, id)),
            None => Cell::default(),
        }
    }
}

/// What a form's selects offer.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub people: Vec<Person>,
    pub companies: Vec<(RecordId, String)>,
    pub contacts: Vec<(RecordId, String)>,
    pub stages: Vec<Stage>,
}

impl Choices {
    pub fn people(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.people.iter().map(|p| (p.id.to_string(), p.name.clone()))
    }

    pub fn companies(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.companies.iter().map(|(id, name)| (id.to_string(), name.clone()))
    }

    pub fn stages(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.stages.iter().map(|s| (s.key.clone(), s.label.clone()))
    }

    /// A contact's statuses (the same for every workspace).
    pub fn statuses() -> impl Iterator<Item = (String, String)> {
        ContactStatus::ALL.into_iter().map(|s| (s.as_str().to_owned(), s.as_str().to_owned()))
    }
}

/// A comma-separated tag list.
pub fn tag_text(tags: &[String]) -> String {
    tags.join(", ")
}

/// The owner select, defaulting to the signed-in user on a new record.
pub fn owner_field(values: &Values, choices: &Choices, name: &'static str, label: &'static str) -> Field {
    Field::select(values, name, label, choices.people(), false).picker(Picker::Person)
}

fn optional_text<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}
