//! How contacts are created, indexed, filtered and checked.

use super::bulk::with_tag;
use super::index_terms::{self, Term};
use super::{BulkAction, CrmRecord, ParsedFilter, Plan, Reference, RowTerm, WriteContext};
use crate::app::store::Versioned;
use crate::app::store::crm::Entity;
use crate::domain::crm::{Changes, Contact, ContactInput, Kind, Stamp};
use crate::domain::ids::{RecordId, UserId};
use crate::error::AppError;

impl Versioned for Contact {
    const VERSION: u16 = 1;
}

impl Entity for Contact {
    const KIND: Kind = Kind::Contact;
    const SEALED: &'static [&'static str] = &["date_of_birth", "tax_id", "bank_details", "phones", "address"];

    fn id(&self) -> RecordId {
        self.id
    }

    fn index_terms(&self) -> Vec<(u8, Vec<u8>)> {
        let name = self.sort_name();
        let mut terms = vec![
            (index_terms::NAME, Term::new().name(&name).done()),
            (index_terms::NAME_FORMS, Term::new().name(&self.sort_name()).done()),
            (index_terms::NAME_FORMS, Term::new().name(&self.full_name()).done()),
            (index_terms::OWNER, Term::new().user(&self.owner_id).name(&name).done()),
            (index_terms::STATUS, Term::new().text(self.status.as_str()).name(&name).done()),
            (index_terms::CREATED, Term::new().number(self.stamp.created_at).done()),
        ];
        if let Some(company) = &self.company_id {
            terms.push((index_terms::COMPANY, Term::new().record(company).name(&name).done()));
        }
        terms.extend(self.tags.iter().map(|t| (index_terms::TAG, Term::new().text(t).name(&name).done())));
        terms.extend(self.emails.iter().map(|e| (index_terms::EMAIL, Term::new().text(&e.address).done())));
        terms
    }
}

impl CrmRecord for Contact {
    type Input = ContactInput;

    fn create(id: RecordId, input: ContactInput, ctx: &WriteContext<'_>) -> Result<(Self, Changes), AppError> {
        Contact::create(id, input, ctx.by, ctx.now)
    }

    fn apply(&mut self, input: ContactInput, _ctx: &WriteContext<'_>) -> Result<Changes, AppError> {
        Contact::apply(self, input)
    }

    type TitleFields = super::titles::PersonName;

    fn title(&self) -> String {
        self.full_name()
    }

    fn editors(&self) -> Vec<UserId> {
        vec![self.owner_id]
    }

    fn references(&self) -> Vec<Reference> {
        let mut refs = vec![Reference::User(self.owner_id, "owner_id")];
        if let Some(company) = self.company_id {
            refs.push(Reference::Record(Kind::Company, company, "company_id"));
        }
        refs
    }

    fn stamp(&self) -> &Stamp {
        &self.stamp
    }

    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }

    fn bulk_input(&self, action: &BulkAction) -> Option<ContactInput> {
        match action {
            BulkAction::AddTag(tag) => {
                Some(ContactInput { tags: Some(with_tag(&self.tags, tag)), ..Default::default() })
            }
            BulkAction::Assign(user) => Some(ContactInput { owner_id: Some(user.to_string()), ..Default::default() }),
            BulkAction::Delete => None,
        }
    }

    fn duplicate_probes(input: &ContactInput) -> Vec<(u8, Vec<u8>)> {
        let emails = input.emails.iter().flatten();
        emails
            .filter_map(|e| crate::domain::email::EmailAddress::parse(&e.address).ok())
            .map(|e| (index_terms::EMAIL, Term::new().text(e.as_str()).done()))
            .collect()
    }

    fn plan(filter: &ParsedFilter) -> Plan {
        if filter.newest_first {
            return Plan::newest();
        }
        let (index, term) = if let Some(tag) = &filter.tag {
            (index_terms::TAG, Term::new().text(tag).done())
        } else if let Some(company) = &filter.company {
            (index_terms::COMPANY, Term::new().record(company).done())
        } else if let Some(owner) = &filter.owner {
            (index_terms::OWNER, Term::new().user(owner).done())
        } else if let Some(status) = filter.status {
            (index_terms::STATUS, Term::new().text(status.as_str()).done())
        } else if filter.q.contains('@') {
            (index_terms::EMAIL, filter.q.trim().to_lowercase().into_bytes())
        } else if filter.q.trim().is_empty() {
            (index_terms::NAME, Vec::new())
        } else {
            (index_terms::NAME_FORMS, index_terms::name_prefix(&filter.q))
        };
        Plan { index, term, reverse: false }
    }

    fn listed_at(&self, f: &ParsedFilter, index: u8, row: &RowTerm<'_>) -> bool {
        if index == index_terms::NAME_FORMS {
            // Both orders may start with the query ("a" for Ada Andersen): list it at the first.
            let prefix = index_terms::name_prefix(&f.q);
            let forms = [Term::new().name(&self.sort_name()).done(), Term::new().name(&self.full_name()).done()];
            if forms.iter().filter(|form| form.starts_with(&prefix)).min().is_some_and(|first| !row.is(first)) {
                return false;
            }
        }
        self.matches(f)
    }

    fn matches(&self, f: &ParsedFilter) -> bool {
        let q = f.q.trim().to_lowercase();
        let q_matches = if let Some(exact) = &f.exact {
            match exact.index {
                index_terms::PHONE => self.phones.iter().any(|p| index_terms::phone_matches(&p.number, &exact.value)),
                _ => self.tax_id.as_deref().is_some_and(|t| index_terms::tax_id_normalised(t) == exact.value),
            }
        } else if q.contains('@') {
            self.emails.iter().any(|e| e.address.starts_with(&q))
        } else {
            f.name_matches(&[&self.sort_name(), &self.full_name()])
        };
        f.tag.as_ref().is_none_or(|t| self.tags.contains(t))
            && f.company.is_none_or(|c| Some(c) == self.company_id)
            && f.owner.is_none_or(|o| o == self.owner_id)
            && f.status.is_none_or(|s| s == self.status)
            && f.created_in_range(self.stamp.created_at)
            && q_matches
    }
}
