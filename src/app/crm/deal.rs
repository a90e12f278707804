//! How deals are created, indexed, filtered and checked.

use super::index_terms::{self, Term};
use super::{BulkAction, CrmRecord, ParsedFilter, Plan, Reference, WriteContext};
use crate::app::store::Versioned;
use crate::app::store::crm::{Entity, TallyShare};
use crate::domain::crm::{Changes, Deal, DealInput, Kind, Stamp};
use crate::domain::fields::Day;
use crate::domain::ids::{RecordId, UserId};
use crate::error::AppError;

/// The names of deal tallies: `stage ‖ 0 ‖ key` and `won|lost ‖ 0 ‖ YYYY-MM`.
pub(crate) mod tally {
    use crate::domain::crm::StageOutcome;
    use crate::domain::fields::Day;

    pub fn stage(key: &str) -> Vec<u8> {
        [b"stage\0", key.as_bytes()].concat()
    }

    /// Won and lost are the fixed closing stages of every pipeline.
    pub fn closing(stage: &str) -> Option<StageOutcome> {
        match stage {
            "won" => Some(StageOutcome::Won),
            "lost" => Some(StageOutcome::Lost),
            _ => None,
        }
    }

    pub fn month(outcome: StageOutcome, day: Day) -> Vec<u8> {
        let (year, month) = day.year_month();
        let name = if outcome == StageOutcome::Won { "won" } else { "lost" };
        format!("{name}\0{year:04}-{month:02}").into_bytes()
    }
}

impl Versioned for Deal {
    const VERSION: u16 = 1;
}

impl Entity for Deal {
    const KIND: Kind = Kind::Deal;

    fn id(&self) -> RecordId {
        self.id
    }

    fn index_terms(&self) -> Vec<(u8, Vec<u8>)> {
        let mut terms = vec![
            (index_terms::NAME, Term::new().name(&self.name).done()),
            (index_terms::OWNER, Term::new().user(&self.owner_id).name(&self.name).done()),
            (index_terms::STAGE, Term::new().text(&self.stage).name(&self.name).done()),
            (index_terms::CREATED, Term::new().number(self.stamp.created_at).done()),
        ];
        if let Some(company) = &self.company_id {
            terms.push((index_terms::COMPANY, Term::new().record(company).name(&self.name).done()));
        }
        terms.extend(
            self.contact_ids.iter().map(|c| (index_terms::CONTACT, Term::new().record(c).name(&self.name).done())),
        );
        terms
    }

    /// Active deals count towards their stage; closed ones also towards the month they closed.
    fn tallies(&self) -> Vec<TallyShare> {
        let amount = self.amount.map(|a| (self.currency, a));
        let mut tallies = Vec::new();
        if !self.archived {
            tallies.push((tally::stage(&self.stage), amount));
        }
        if let (Some(closed_at), Some(outcome)) = (self.closed_at, tally::closing(&self.stage)) {
            tallies.push((tally::month(outcome, Day::of_unix(closed_at)), amount));
        }
        tallies
    }
}

impl CrmRecord for Deal {
    type Input = DealInput;

    fn create(id: RecordId, input: DealInput, ctx: &WriteContext<'_>) -> Result<(Self, Changes), AppError> {
        Deal::create(id, input, ctx.pipeline, ctx.by, ctx.now)
    }

    fn apply(&mut self, input: DealInput, ctx: &WriteContext<'_>) -> Result<Changes, AppError> {
        Deal::apply(self, input, ctx.pipeline, ctx.now)
    }

    type TitleFields = super::titles::Name;

    fn title(&self) -> String {
        self.name.clone()
    }

    fn editors(&self) -> Vec<UserId> {
        vec![self.owner_id]
    }

    fn references(&self) -> Vec<Reference> {
        let mut refs = vec![Reference::User(self.owner_id, "owner_id")];
        refs.extend(self.company_id.map(|c| Reference::Record(Kind::Company, c, "company_id")));
        refs.extend(self.contact_ids.iter().map(|c| Reference::Record(Kind::Contact, *c, "contact_ids")));
        refs
    }

    fn stamp(&self) -> &Stamp {
        &self.stamp
    }

    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }

    fn change_detail(before: &Self, after: &Self, ctx: &WriteContext<'_>) -> Option<String> {
        let label = |key: &str| ctx.pipeline.iter().find(|s| s.key == key).map_or(key.to_owned(), |s| s.label.clone());
        (before.stage != after.stage).then(|| format!("{} → {}", label(&before.stage), label(&after.stage)))
    }

    fn bulk_input(&self, action: &BulkAction) -> Option<DealInput> {
        match action {
            BulkAction::Assign(user) => Some(DealInput { owner_id: Some(user.to_string()), ..Default::default() }),
            BulkAction::AddTag(_) | BulkAction::Delete => None,
        }
    }

    fn plan(filter: &ParsedFilter) -> Plan {
        if filter.newest_first {
            return Plan::newest();
        }
        let (index, term) = if let Some(stage) = &filter.stage {
            (index_terms::STAGE, Term::new().text(stage).done())
        } else if let Some(company) = &filter.company {
            (index_terms::COMPANY, Term::new().record(company).done())
        } else if let Some(contact) = &filter.contact {
            (index_terms::CONTACT, Term::new().record(contact).done())
        } else if let Some(owner) = &filter.owner {
            (index_terms::OWNER, Term::new().user(owner).done())
        } else {
            (index_terms::NAME, index_terms::name_prefix(&filter.q))
        };
        Plan { index, term, reverse: false }
    }

    fn matches(&self, f: &ParsedFilter) -> bool {
        f.stage.as_ref().is_none_or(|s| *s == self.stage)
            && f.company.is_none_or(|c| Some(c) == self.company_id)
            && f.contact.is_none_or(|c| self.contact_ids.contains(&c))
            && f.owner.is_none_or(|o| o == self.owner_id)
            && f.closed.is_none_or(|archived| archived == self.archived)
            && f.created_in_range(self.stamp.created_at)
            && f.name_matches(&[&self.name])
    }
}
