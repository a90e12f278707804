//! A contact: a person, usually at a company.

use serde::{Deserialize, Serialize};

use super::{Address, Changes, Stamp, optional, record_id, user_id};
use crate::domain::email::EmailAddress;
use crate::domain::fields::{Day, LINE_MAX, Phone, TEXT_MAX, bank_details, multiline, optional_line, tags};
use crate::domain::ids::{RecordId, UserId};
use crate::error::{AppError, ErrorCode};

/// Where a contact stands with the firm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContactStatus {
    Lead,
    Prospect,
    Customer,
    Inactive,
}

impl ContactStatus {
    pub const ALL: [ContactStatus; 4] =
        [ContactStatus::Lead, ContactStatus::Prospect, ContactStatus::Customer, ContactStatus::Inactive];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactStatus::Lead => "lead",
            ContactStatus::Prospect => "prospect",
            ContactStatus::Customer => "customer",
            ContactStatus::Inactive => "inactive",
        }
    }

    pub fn parse(input: &str) -> Result<ContactStatus, AppError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == input.trim().to_lowercase())
            .ok_or_else(|| AppError::field(ErrorCode::InvalidFormat, "status"))
    }
}

/// One of a contact's email addresses (`kind`: work, home, other…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailEntry {
    pub address: String,
    #[serde(default)]
    pub kind: String,
}

/// One of a contact's phone numbers (`kind`: work, mobile, home…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneEntry {
    pub number: String,
    #[serde(default)]
    pub kind: String,
}

/// At most this many emails and phones per contact.
pub const MAX_CHANNELS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: RecordId,
    pub first_name: String,
    pub last_name: String,
    pub title: Option<String>,
    pub emails: Vec<EmailEntry>,
    // Sealed fields default when absent: list pages read records without opening them.
    #[serde(default)]
    #[schema(required = true)]
    pub phones: Vec<PhoneEntry>,
    pub company_id: Option<RecordId>,
    #[serde(default)]
    #[schema(required = true)]
    pub address: Address,
    pub status: ContactStatus,
    pub tags: Vec<String>,
    pub owner_id: UserId,
    pub background: String,
    pub date_of_birth: Option<Day>,
    pub tax_id: Option<String>,
    /// Account details for payments (IBAN, sort code, free text); sealed at rest.
    #[serde(default)]
    pub bank_details: Option<String>,
    /// Unix time of the last note or completed call/email/meeting task on this contact.
    pub last_contacted: Option<i64>,
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// What a form or API body may set on a contact. `None`: leave as is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub emails: Option<Vec<EmailEntry>>,
    pub phones: Option<Vec<PhoneEntry>>,
    pub company_id: Option<String>,
    pub address: Option<Address>,
    pub status: Option<String>,
    pub tags: Option<Vec<String>>,
    pub owner_id: Option<String>,
    pub background: Option<String>,
    pub date_of_birth: Option<String>,
    pub tax_id: Option<String>,
    pub bank_details: Option<String>,
}

/// "First Last", or whichever is present.
pub fn person_name(first: &str, last: &str) -> String {
    match (first.is_empty(), last.is_empty()) {
        (false, false) => format!("{first} {last}"),
        (true, _) => last.to_owned(),
        (_, true) => first.to_owned(),
    }
}

fn channel_kind(kind: &str) -> Result<String, AppError> {
    Ok(optional_line(kind, 20, "kind")?.unwrap_or_else(|| "work".into()).to_lowercase())
}

impl Contact {
    /// A new contact: a first or last name is required; status defaults to lead, the owner to
    /// the creator.
    pub fn create(id: RecordId, input: ContactInput, by: UserId, now: i64) -> Result<(Contact, Changes), AppError> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if blank(&input.first_name) && blank(&input.last_name) {
            return Err(AppError::field(ErrorCode::Required, "last_name"));
        }
        let mut contact = Contact {
            id,
            first_name: String::new(),
            last_name: String::new(),
            title: None,
            emails: Vec::new(),
            phones: Vec::new(),
            company_id: None,
            address: Address::default(),
            status: ContactStatus::Lead,
            tags: Vec::new(),
            owner_id: by,
            background: String::new(),
            date_of_birth: None,
            tax_id: None,
            bank_details: None,
            last_contacted: None,
            stamp: Stamp { created_at: now, created_by: by, updated_at: now },
        };
        let changes = contact.apply(input)?;
        Ok((contact, changes))
    }

    /// Applies `input`, all or nothing.
    pub fn apply(&mut self, input: ContactInput) -> Result<Changes, AppError> {
        let mut next = self.clone();
        let mut changes = Changes::default();
        if let Some(v) = input.first_name {
            changes.set(&mut next.first_name, optional_line(&v, 100, "first_name")?.unwrap_or_default(), "first_name");
        }
        if let Some(v) = input.last_name {
            changes.set(&mut next.last_name, optional_line(&v, 100, "last_name")?.unwrap_or_default(), "last_name");
        }
        if next.first_name.is_empty() && next.last_name.is_empty() {
            return Err(AppError::field(ErrorCode::Required, "last_name"));
        }
        if let Some(v) = input.title {
            changes.set(&mut next.title, optional_line(&v, LINE_MAX, "title")?, "title");
        }
        if let Some(list) = input.emails {
            let mut emails: Vec<EmailEntry> = Vec::new();
            for entry in list.iter().filter(|e| !e.address.trim().is_empty()) {
                let address =
                    EmailAddress::parse(&entry.address).map_err(|e| AppError::field(e.code(), "emails"))?.to_string();
                if !emails.iter().any(|e| e.address == address) {
                    emails.push(EmailEntry { address, kind: channel_kind(&entry.kind)? });
                }
            }
            if emails.len() > MAX_CHANNELS {
                return Err(AppError::field(ErrorCode::TooLong, "emails"));
            }
            changes.set(&mut next.emails, emails, "emails");
        }
        if let Some(list) = input.phones {
            let mut phones = Vec::new();
            for entry in list.iter().filter(|p| !p.number.trim().is_empty()) {
                let number = Phone::parse(&entry.number, "phones")?.as_str().to_owned();
                phones.push(PhoneEntry { number, kind: channel_kind(&entry.kind)? });
            }
            if phones.len() > MAX_CHANNELS {
                return Err(AppError::field(ErrorCode::TooLong, "phones"));
            }
            changes.set(&mut next.phones, phones, "phones");
        }
        if let Some(v) = input.company_id {
            changes.set(&mut next.company_id, record_id(&v, "company_id")?, "company_id");
        }
        if let Some(v) = input.address {
            changes.set(&mut next.address, Address::parse(&v)?, "address");
        }
        if let Some(v) = input.status {
            changes.set(&mut next.status, ContactStatus::parse(&v)?, "status");
        }
        if let Some(v) = input.tags {
            changes.set(&mut next.tags, tags(v.iter().map(String::as_str), "tags")?, "tags");
        }
        if let Some(v) = input.owner_id {
            let owner = user_id(&v, "owner_id")?.ok_or_else(|| AppError::field(ErrorCode::Required, "owner_id"))?;
            changes.set(&mut next.owner_id, owner, "owner_id");
        }
        if let Some(v) = input.background {
            changes.set(&mut next.background, multiline(&v, TEXT_MAX, "background")?, "background");
        }
        if let Some(v) = input.date_of_birth {
            changes.set(&mut next.date_of_birth, optional(&v, |s| Day::parse(s, "date_of_birth"))?, "date_of_birth");
        }
        if let Some(v) = input.tax_id {
            changes.set(&mut next.tax_id, optional_line(&v, 64, "tax_id")?, "tax_id");
        }
        if let Some(v) = input.bank_details {
            changes.set(&mut next.bank_details, bank_details(&v)?, "bank_details");
        }
        *self = next;
        Ok(changes)
    }

    /// "First Last", or whichever is present.
    pub fn full_name(&self) -> String {
        person_name(&self.first_name, &self.last_name)
    }

    /// "Last First": how contact lists sort.
    pub fn sort_name(&self) -> String {
        format!("{} {}", self.last_name, self.first_name)
    }

    pub fn primary_email(&self) -> Option<&str> {
        self.emails.first().map(|e| e.address.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_parsed_and_deduplicated() {
        let input = ContactInput {
            first_name: Some("Ada".into()),
            emails: Some(vec![
                EmailEntry { address: "Ada@Example.com".into(), kind: "".into() },
                EmailEntry { address: "ada@example.com".into(), kind: "home".into() },
                EmailEntry { address: " ".into(), kind: "".into() },
            ]),
            phones: Some(vec![PhoneEntry { number: "+1 555 0100".into(), kind: "Mobile".into() }]),
            ..Default::default()
        };
        let (contact, _) = Contact::create(RecordId::random(), input, UserId::random(), 1).unwrap();
        assert_eq!(contact.emails, vec![EmailEntry { address: "ada@example.com".into(), kind: "work".into() }]);
        assert_eq!(contact.phones[0].kind, "mobile");
        assert_eq!(contact.full_name(), "Ada");
    }

    #[test]
    fn a_name_is_required_and_bad_values_name_their_field() {
        let by = UserId::random();
        let none = ContactInput { title: Some("CEO".into()), ..Default::default() };
        assert_eq!(Contact::create(RecordId::random(), none, by, 1).unwrap_err().code(), ErrorCode::Required);
        let bad = ContactInput {
            last_name: Some("Lovelace".into()),
            emails: Some(vec![EmailEntry { address: "not-an-email".into(), kind: "".into() }]),
            ..Default::default()
        };
        let error = Contact::create(RecordId::random(), bad, by, 1).unwrap_err();
        assert_eq!((error.code(), error.field_name()), (ErrorCode::InvalidEmail, Some("emails")));
    }
}
