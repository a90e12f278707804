//! How companies are created, indexed, filtered and checked.

use super::bulk::with_tag;
use super::index_terms::{self, Term};
use super::{BulkAction, CrmRecord, ParsedFilter, Plan, Reference, WriteContext};
use crate::app::store::Versioned;
use crate::app::store::crm::Entity;
use crate::domain::crm::{Changes, Company, CompanyInput, Kind, Stamp};
use crate::domain::ids::{RecordId, UserId};
use crate::error::AppError;

impl Versioned for Company {
    const VERSION: u16 = 1;
}

impl Entity for Company {
    const KIND: Kind = Kind::Company;
    const SEALED: &'static [&'static str] = &["tax_id", "bank_details", "phone", "address"];
    const LISTED_SEALED: &'static [&'static str] = &["phone"];

    fn id(&self) -> RecordId {
        self.id
    }

    fn index_terms(&self) -> Vec<(u8, Vec<u8>)> {
        let mut terms = vec![
            (index_terms::NAME, Term::new().name(&self.name).done()),
            (index_terms::OWNER, Term::new().user(&self.owner_id).name(&self.name).done()),
            (index_terms::CREATED, Term::new().number(self.stamp.created_at).done()),
        ];
        terms.extend(self.tags.iter().map(|t| (index_terms::TAG, Term::new().text(t).name(&self.name).done())));
        terms
    }
}

impl CrmRecord for Company {
    type Input = CompanyInput;

    fn create(id: RecordId, input: CompanyInput, ctx: &WriteContext<'_>) -> Result<(Self, Changes), AppError> {
        Company::create(id, input, ctx.by, ctx.now)
    }

    fn apply(&mut self, input: CompanyInput, _ctx: &WriteContext<'_>) -> Result<Changes, AppError> {
        Company::apply(self, input)
    }

    type TitleFields = super::titles::Name;

    fn title(&self) -> String {
        self.name.clone()
    }

    fn editors(&self) -> Vec<UserId> {
        vec![self.owner_id]
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference::User(self.owner_id, "owner_id")]
    }

    fn stamp(&self) -> &Stamp {
        &self.stamp
    }

    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }

    fn financial(changes: &Changes) -> bool {
        changes.contains("credit_limit")
    }

    fn bulk_input(&self, action: &BulkAction) -> Option<CompanyInput> {
        match action {
            BulkAction::AddTag(tag) => {
                Some(CompanyInput { tags: Some(with_tag(&self.tags, tag)), ..Default::default() })
            }
            BulkAction::Assign(user) => Some(CompanyInput { owner_id: Some(user.to_string()), ..Default::default() }),
            BulkAction::Delete => None,
        }
    }

    fn duplicate_probes(input: &CompanyInput) -> Vec<(u8, Vec<u8>)> {
        input
            .name
            .iter()
            .filter(|n| !n.trim().is_empty())
            .map(|n| (index_terms::NAME, Term::new().name(n).done()))
            .collect()
    }

    fn plan(filter: &ParsedFilter) -> Plan {
        if filter.newest_first {
            return Plan::newest();
        }
        let (index, term) = if let Some(tag) = &filter.tag {
            (index_terms::TAG, Term::new().text(tag).done())
        } else if let Some(owner) = &filter.owner {
            (index_terms::OWNER, Term::new().user(owner).done())
        } else {
            (index_terms::NAME, index_terms::name_prefix(&filter.q))
        };
        Plan { index, term, reverse: false }
    }

    fn matches(&self, f: &ParsedFilter) -> bool {
        f.tag.as_ref().is_none_or(|t| self.tags.contains(t))
            && f.owner.is_none_or(|o| o == self.owner_id)
            && f.created_in_range(self.stamp.created_at)
            && match &f.exact {
                Some(exact) if exact.index == index_terms::PHONE => {
                    self.phone.as_ref().is_some_and(|p| index_terms::phone_matches(p.as_str(), &exact.value))
                }
                Some(exact) => self.tax_id.as_deref().is_some_and(|t| index_terms::tax_id_normalised(t) == exact.value),
                None => f.name_matches(&[&self.name]),
            }
    }
}
