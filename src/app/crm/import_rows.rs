//! How one CSV row becomes a create, an update or a rejection: the importable fields of each
//! kind, guessing them from header names, matching existing records (contacts by email,
//! companies by name) and building the record input. Blank cells leave a value unchanged.

use std::collections::HashSet;

use redb::ReadableTable;

use super::index_terms::{self, Term};
use super::{CrmRecord, WriteContext};
use crate::app::store::crm::{Index, RecordsTable};
use crate::domain::crm::{Address, Company, CompanyInput, Contact, ContactInput, EmailEntry, PhoneEntry, sort_key};
use crate::domain::email::EmailAddress;
use crate::domain::fields::Phone;
use crate::domain::ids::RecordId;
use crate::error::{AppError, ErrorCode};

/// Finds existing records to update (inside a read or write transaction).
pub(crate) trait Find {
    fn contact_by_email(&self, email: &str) -> Result<Option<Contact>, AppError>;
    fn company_by_name(&self, name: &str) -> Result<Option<Company>, AppError>;
    /// The id of a company named `name` that the import creates, when it may create missing
    /// companies (the same id for every row naming it).
    fn new_company(&self, name: &str) -> Option<RecordId>;
}

/// Companies an import creates because rows name them and they aren't in the CRM yet. A name
/// is reserved by the row that first needs it; when that row is rejected the reservation is
/// dropped, so only companies of accepted rows are ever created.
#[derive(Debug, Default)]
pub(crate) struct NewCompanies {
    reserved: std::collections::HashMap<String, RecordId>,
    /// Reserved by the row being resolved: `(id, name as written)`.
    this_row: Vec<(RecordId, String)>,
}

impl NewCompanies {
    fn reserve(&mut self, name: &str) -> RecordId {
        let key = name.trim().to_lowercase();
        if let Some(id) = self.reserved.get(&key) {
            return *id;
        }
        let id = RecordId::random();
        self.reserved.insert(key, id);
        self.this_row.push((id, name.trim().to_owned()));
        id
    }

    /// The companies the row being resolved would create.
    pub fn pending(&self) -> &[(RecordId, String)] {
        &self.this_row
    }

    /// The companies the accepted row needs created.
    pub fn take_row(&mut self) -> Vec<(RecordId, String)> {
        std::mem::take(&mut self.this_row)
    }

    /// Forgets the rejected row's reservations.
    pub fn drop_row(&mut self) {
        for (_, name) in std::mem::take(&mut self.this_row) {
            self.reserved.remove(&name.to_lowercase());
        }
    }
}

/// [`Find`] over the index and records of a workspace's transaction.
pub(crate) struct Lookup<'a, I, R> {
    pub index: &'a Index<I>,
    pub records: &'a RecordsTable<'a, R>,
    /// `Some` when missing companies are created.
    pub new_companies: Option<&'a std::cell::RefCell<NewCompanies>>,
}

impl<I, R> Lookup<'_, I, R>
where
    I: ReadableTable<&'static [u8], ()>,
    R: ReadableTable<&'static [u8], &'static [u8]>,
{
    fn first<T: CrmRecord>(&self, index: u8, term: &[u8], wanted: impl Fn(&T) -> bool) -> Result<Option<T>, AppError> {
        let mut found = None;
        self.index.scan(T::KIND, index, term, None, false, |row| {
            if let Some(record) = self.records.load::<T>(&row.id)?
                && wanted(&record)
            {
                found = Some(record);
                return Ok(false);
            }
            Ok(true)
        })?;
        Ok(found)
    }
}

impl<I, R> Find for Lookup<'_, I, R>
where
    I: ReadableTable<&'static [u8], ()>,
    R: ReadableTable<&'static [u8], &'static [u8]>,
{
    fn contact_by_email(&self, email: &str) -> Result<Option<Contact>, AppError> {
        self.first(index_terms::EMAIL, &Term::new().text(email).done(), |_: &Contact| true)
    }

    fn company_by_name(&self, name: &str) -> Result<Option<Company>, AppError> {
        let lower = name.trim().to_lowercase();
        self.first(index_terms::NAME, &Term::new().text(&sort_key(name)).done(), |c: &Company| {
            c.name.to_lowercase() == lower
        })
    }

    fn new_company(&self, name: &str) -> Option<RecordId> {
        self.new_companies.map(|companies| companies.borrow_mut().reserve(name))
    }
}

/// The mapped, non-blank cells of one row: `(field, value)`.
pub(crate) type Cells<'a> = [(&'static str, &'a str)];

fn cell<'a>(cells: &Cells<'a>, field: &str) -> Option<&'a str> {
    cells.iter().find(|(f, _)| *f == field).map(|(_, v)| *v)
}

fn owned(cells: &Cells<'_>, field: &str) -> Option<String> {
    cell(cells, field).map(str::to_owned)
}

/// Tags from a cell (split on `,` or `;`) added to `existing`.
fn merged_tags(cells: &Cells<'_>, existing: &[String]) -> Option<Vec<String>> {
    let cell = cell(cells, "tags")?;
    let mut tags = existing.to_vec();
    tags.extend(cell.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned));
    Some(tags)
}

/// The address with the mapped parts replaced (None when no part is mapped).
fn merged_address(cells: &Cells<'_>, existing: Option<&Address>) -> Option<Address> {
    let mut address = existing.cloned().unwrap_or_default();
    let mut any = false;
    for (field, slot) in [
        ("street", &mut address.street),
        ("city", &mut address.city),
        ("postal_code", &mut address.postal_code),
        ("region", &mut address.region),
        ("country", &mut address.country),
    ] {
        if let Some(value) = cell(cells, field) {
            *slot = value.to_owned();
            any = true;
        }
    }
    any.then_some(address)
}

/// A kind that can be imported from CSV.
pub(crate) trait Importable: CrmRecord {
    /// `(field, label, header names it is guessed from)`.
    const FIELDS: &'static [(&'static str, &'static str, &'static [&'static str])];
    /// The field rows are matched on.
    const KEY: &'static str;
    /// The normalised match key of a row (an error rejects the row).
    fn key(cells: &Cells<'_>) -> Result<Option<String>, AppError>;
    fn find(find: &dyn Find, key: &str) -> Result<Option<Self>, AppError>;
    fn input(cells: &Cells<'_>, existing: Option<&Self>, find: &dyn Find) -> Result<Self::Input, AppError>;
}

const ADDRESS_FIELDS: [(&str, &str, &[&str]); 5] = [
    ("street", "Street", &["street", "address", "streetaddress", "address1", "addressline1"]),
    ("city", "City", &["city", "town"]),
    ("postal_code", "Postal code", &["postalcode", "postcode", "zip", "zipcode"]),
    ("region", "Region", &["region", "state", "province", "county"]),
    ("country", "Country", &["country"]),
];

impl Importable for Contact {
    const FIELDS: &'static [(&'static str, &'static str, &'static [&'static str])] = &[
        ("first_name", "First name", &["firstname", "givenname", "first", "forename"]),
        ("last_name", "Last name", &["lastname", "surname", "familyname", "last"]),
        ("full_name", "Full name", &["name", "fullname", "contactname", "contact"]),
        ("email", "Email", &["email", "emailaddress", "mail", "email1", "workemail"]),
        ("phone", "Phone", &["phone", "telephone", "tel", "phonenumber", "workphone", "businessphone"]),
        ("mobile", "Mobile phone", &["mobile", "mobilephone", "cell", "cellphone", "mobilenumber"]),
        ("title", "Job title", &["title", "jobtitle", "position", "role"]),
        ("company", "Company", &["company", "companyname", "organization", "organisation", "org", "account"]),
        ADDRESS_FIELDS[0],
        ADDRESS_FIELDS[1],
        ADDRESS_FIELDS[2],
        ADDRESS_FIELDS[3],
        ADDRESS_FIELDS[4],
        ("status", "Status", &["status", "leadstatus"]),
        ("tags", "Tags", &["tags", "tag", "labels"]),
        ("background", "Background", &["background", "notes", "note", "description", "about"]),
        ("date_of_birth", "Date of birth", &["dateofbirth", "birthday", "birthdate", "dob"]),
        ("tax_id", "Tax id", &["taxid", "vat", "vatnumber", "vatid"]),
        ("bank_details", "Bank details", &["bank", "bankaccount", "iban"]),
    ];
    const KEY: &'static str = "email";

    fn key(cells: &Cells<'_>) -> Result<Option<String>, AppError> {
        cell(cells, "email")
            .map(|e| {
                EmailAddress::parse(e).map(|a| a.as_str().to_owned()).map_err(|e| AppError::field(e.code(), "email"))
            })
            .transpose()
    }

    fn find(find: &dyn Find, key: &str) -> Result<Option<Contact>, AppError> {
        find.contact_by_email(key)
    }

    fn input(cells: &Cells<'_>, existing: Option<&Contact>, find: &dyn Find) -> Result<ContactInput, AppError> {
        let mut input = ContactInput {
            first_name: owned(cells, "first_name"),
            last_name: owned(cells, "last_name"),
            title: owned(cells, "title"),
            status: owned(cells, "status"),
            background: owned(cells, "background"),
            date_of_birth: owned(cells, "date_of_birth"),
            tax_id: owned(cells, "tax_id"),
            bank_details: owned(cells, "bank_details"),
            tags: merged_tags(cells, existing.map_or(&[], |c| &c.tags)),
            address: merged_address(cells, existing.map(|c| &c.address)),
            ..Default::default()
        };
        if let Some(full) = cell(cells, "full_name")
            && input.first_name.is_none()
            && input.last_name.is_none()
        {
            let (first, last) = full.trim().rsplit_once(char::is_whitespace).unwrap_or(("", full.trim()));
            (input.first_name, input.last_name) = (Some(first.trim().to_owned()), Some(last.to_owned()));
        }
        if let Some(email) = Self::key(cells)?
            && existing.is_none_or(|c| !c.emails.iter().any(|e| e.address == email))
        {
            let mut emails = existing.map(|c| c.emails.clone()).unwrap_or_default();
            emails.push(EmailEntry { address: email, kind: String::new() });
            input.emails = Some(emails);
        }
        let mut phones = existing.map(|c| c.phones.clone()).unwrap_or_default();
        let before = phones.len();
        for (field, kind) in [("phone", "work"), ("mobile", "mobile")] {
            if let Some(number) = cell(cells, field) {
                let number = Phone::parse(number, field)?.as_str().to_owned();
                if !phones.iter().any(|p| p.number == number) {
                    phones.push(PhoneEntry { number, kind: kind.into() });
                }
            }
        }
        if phones.len() != before {
            input.phones = Some(phones);
        }
        if let Some(name) = cell(cells, "company") {
            let company = match find.company_by_name(name)? {
                Some(company) => company.id,
                None => find.new_company(name).ok_or_else(|| AppError::field(ErrorCode::NotFound, "company"))?,
            };
            input.company_id = Some(company.to_string());
        }
        Ok(input)
    }
}

impl Importable for Company {
    const FIELDS: &'static [(&'static str, &'static str, &'static [&'static str])] = &[
        ("name", "Name", &["name", "company", "companyname", "organization", "organisation", "account"]),
        ("website", "Website", &["website", "url", "web", "homepage", "domain"]),
        ("phone", "Phone", &["phone", "telephone", "tel", "phonenumber"]),
        ("industry", "Industry", &["industry", "sector"]),
        ("size", "Size", &["size", "employees", "companysize"]),
        ADDRESS_FIELDS[0],
        ADDRESS_FIELDS[1],
        ADDRESS_FIELDS[2],
        ADDRESS_FIELDS[3],
        ADDRESS_FIELDS[4],
        ("tax_id", "Tax id", &["taxid", "vat", "vatnumber", "vatid"]),
        ("bank_details", "Bank details", &["bank", "bankaccount", "iban"]),
        ("credit_limit", "Credit limit", &["creditlimit", "credit"]),
        ("tags", "Tags", &["tags", "tag", "labels"]),
        ("description", "Description", &["description", "notes", "about"]),
    ];
    const KEY: &'static str = "name";

    fn key(cells: &Cells<'_>) -> Result<Option<String>, AppError> {
        Ok(cell(cells, "name").map(|n| n.trim().to_lowercase()))
    }

    fn find(find: &dyn Find, key: &str) -> Result<Option<Company>, AppError> {
        find.company_by_name(key)
    }

    fn input(cells: &Cells<'_>, existing: Option<&Company>, _find: &dyn Find) -> Result<CompanyInput, AppError> {
        Ok(CompanyInput {
            name: owned(cells, "name"),
            website: owned(cells, "website"),
            phone: owned(cells, "phone"),
            industry: owned(cells, "industry"),
            size: owned(cells, "size"),
            address: merged_address(cells, existing.map(|c| &c.address)),
            tax_id: owned(cells, "tax_id"),
            bank_details: owned(cells, "bank_details"),
            credit_limit: owned(cells, "credit_limit"),
            tags: merged_tags(cells, existing.map_or(&[], |c| &c.tags)),
            description: owned(cells, "description"),
            ..Default::default()
        })
    }
}

/// The field a header names, if any (case, spaces and punctuation ignored).
pub(crate) fn guess<T: Importable>(header: &str) -> Option<&'static str> {
    let plain: String = header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    T::FIELDS
        .iter()
        .find(|(field, _, names)| names.contains(&plain.as_str()) || field.replace('_', "") == plain)
        .map(|(field, _, _)| *field)
}

/// What a row would do.
pub(crate) enum Planned<T> {
    Create(T, crate::domain::crm::Changes),
    Update { before: T, after: T, changes: crate::domain::crm::Changes },
    Unchanged,
}

/// Resolves one row against the store: a validated create or update, or the error that
/// rejects it. `seen` holds the match keys of earlier rows (a repeat is a duplicate).
pub(crate) fn resolve<T: Importable>(
    cells: &Cells<'_>,
    find: &dyn Find,
    seen: &mut HashSet<String>,
    ctx: &WriteContext<'_>,
) -> Result<Planned<T>, AppError> {
    let key = T::key(cells)?;
    if let Some(key) = &key
        && !seen.insert(key.clone())
    {
        return Err(AppError::field(ErrorCode::Duplicate, T::KEY));
    }
    let existing = match &key {
        Some(key) => T::find(find, key)?,
        None => None,
    };
    let input = T::input(cells, existing.as_ref(), find)?;
    match existing {
        Some(before) => {
            let mut after = before.clone();
            let changes = after.apply(input, ctx)?;
            if changes.is_empty() {
                return Ok(Planned::Unchanged);
            }
            after.stamp_mut().updated_at = ctx.now;
            Ok(Planned::Update { before, after, changes })
        }
        None => {
            let (record, changes) = T::create(RecordId::random(), input, ctx)?;
            Ok(Planned::Create(record, changes))
        }
    }
}

/// The import field a domain error names (`emails` → `email`).
pub(crate) fn field_of(error: &AppError) -> String {
    match error.field_name() {
        Some("emails") => "email".into(),
        Some("phones") => "phone".into(),
        Some("address") => "address".into(),
        Some(other) => other.into(),
        None => "row".into(),
    }
}
