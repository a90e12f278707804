//! A company (an account): who the firm works with.

use serde::{Deserialize, Serialize};

use super::{Address, Changes, Stamp, optional, user_id};
use crate::domain::fields::{LINE_MAX, Money, Phone, TEXT_MAX, WebUrl, bank_details, multiline, optional_line, tags};
use crate::domain::ids::{RecordId, UserId};
use crate::domain::text::required_line;
use crate::error::{AppError, ErrorCode};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Company {
    pub id: RecordId,
    pub name: String,
    pub website: Option<WebUrl>,
    pub phone: Option<Phone>,
    pub industry: Option<String>,
    pub size: Option<String>,
    // Sealed fields default when absent: list pages read records without opening them.
    #[serde(default)]
    #[schema(required = true)]
    pub address: Address,
    pub tax_id: Option<String>,
    /// Account details for payments (IBAN, sort code, free text); sealed at rest.
    #[serde(default)]
    pub bank_details: Option<String>,
    pub credit_limit: Option<Money>,
    pub tags: Vec<String>,
    pub owner_id: UserId,
    pub description: String,
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// What a form or API body may set on a company. `None`: leave as is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyInput {
    pub name: Option<String>,
    pub website: Option<String>,
    pub phone: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub address: Option<Address>,
    pub tax_id: Option<String>,
    pub bank_details: Option<String>,
    pub credit_limit: Option<String>,
    pub tags: Option<Vec<String>>,
    pub owner_id: Option<String>,
    pub description: Option<String>,
}

impl Company {
    /// A new company from `input` (the name is required); the owner defaults to the creator.
    pub fn create(id: RecordId, input: CompanyInput, by: UserId, now: i64) -> Result<(Company, Changes), AppError> {
        if input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(AppError::field(ErrorCode::Required, "name"));
        }
        let mut company = Company {
            id,
            name: String::new(),
            website: None,
            phone: None,
            industry: None,
            size: None,
            address: Address::default(),
            tax_id: None,
            bank_details: None,
            credit_limit: None,
            tags: Vec::new(),
            owner_id: by,
            description: String::new(),
            stamp: Stamp { created_at: now, created_by: by, updated_at: now },
        };
        let changes = company.apply(input)?;
        Ok((company, changes))
    }

    /// Applies `input`, all or nothing: on an error the company is unchanged.
    pub fn apply(&mut self, input: CompanyInput) -> Result<Changes, AppError> {
        let mut next = self.clone();
        let mut changes = Changes::default();
        if let Some(v) = input.name {
            changes.set(&mut next.name, required_line(&v, LINE_MAX, "name")?, "name");
        }
        if let Some(v) = input.website {
            changes.set(&mut next.website, optional(&v, |s| WebUrl::parse(s, "website"))?, "website");
        }
        if let Some(v) = input.phone {
            changes.set(&mut next.phone, optional(&v, |s| Phone::parse(s, "phone"))?, "phone");
        }
        if let Some(v) = input.industry {
            changes.set(&mut next.industry, optional_line(&v, 100, "industry")?, "industry");
        }
        if let Some(v) = input.size {
            changes.set(&mut next.size, optional_line(&v, 40, "size")?, "size");
        }
        if let Some(v) = input.address {
            changes.set(&mut next.address, Address::parse(&v)?, "address");
        }
        if let Some(v) = input.tax_id {
            changes.set(&mut next.tax_id, optional_line(&v, 64, "tax_id")?, "tax_id");
        }
        if let Some(v) = input.bank_details {
            changes.set(&mut next.bank_details, bank_details(&v)?, "bank_details");
        }
        if let Some(v) = input.credit_limit {
            changes.set(&mut next.credit_limit, optional(&v, |s| Money::parse(s, "credit_limit"))?, "credit_limit");
        }
        if let Some(v) = input.tags {
            changes.set(&mut next.tags, tags(v.iter().map(String::as_str), "tags")?, "tags");
        }
        if let Some(v) = input.owner_id {
            let owner = user_id(&v, "owner_id")?.ok_or_else(|| AppError::field(ErrorCode::Required, "owner_id"))?;
            changes.set(&mut next.owner_id, owner, "owner_id");
        }
        if let Some(v) = input.description {
            changes.set(&mut next.description, multiline(&v, TEXT_MAX, "description")?, "description");
        }
        *self = next;
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_validates_and_apply_is_all_or_nothing() {
        let by = UserId::random();
        let input =
            CompanyInput { name: Some(" Acme ".into()), website: Some("acme.example".into()), ..Default::default() };
        let (mut company, changes) = Company::create(RecordId::random(), input, by, 1).unwrap();
        assert_eq!(company.name, "Acme");
        assert!(changes.contains("website"));
        let before = company.clone();
        let bad = CompanyInput { name: Some("New".into()), credit_limit: Some("lots".into()), ..Default::default() };
        assert_eq!(company.apply(bad).unwrap_err().field_name(), Some("credit_limit"));
        assert_eq!(company, before);
        let missing = CompanyInput::default();
        assert_eq!(Company::create(RecordId::random(), missing, by, 1).unwrap_err().code(), ErrorCode::Required);
    }
}
