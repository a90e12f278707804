//! A deal moving through the workspace's pipeline of stages.

use serde::{Deserialize, Serialize};

use super::{Changes, Stamp, optional, record_id, user_id};
use crate::domain::fields::{Currency, Day, LINE_MAX, Money, optional_line};
use crate::domain::ids::{RecordId, UserId};
use crate::domain::text::required_line;
use crate::error::{AppError, ErrorCode};

/// Whether deals in a stage are still open, or closed as won or lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StageOutcome {
    Open,
    Won,
    Lost,
}

/// A pipeline stage: a stable key (used in the API and stored on deals) and a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stage {
    pub key: String,
    pub label: String,
    pub outcome: StageOutcome,
}

/// The stages a new workspace starts with (editable in the pipeline settings).
pub fn default_pipeline() -> Vec<Stage> {
    let stage = |key: &str, label: &str, outcome| Stage { key: key.into(), label: label.into(), outcome };
    vec![
        stage("lead", "Lead", StageOutcome::Open),
        stage("qualified", "Qualified", StageOutcome::Open),
        stage("proposal", "Proposal", StageOutcome::Open),
        stage("negotiation", "Negotiation", StageOutcome::Open),
        stage("won", "Won", StageOutcome::Won),
        stage("lost", "Lost", StageOutcome::Lost),
    ]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deal {
    pub id: RecordId,
    pub name: String,
    pub company_id: Option<RecordId>,
    pub contact_ids: Vec<RecordId>,
    pub stage: String,
    pub amount: Option<Money>,
    pub currency: Currency,
    pub expected_close: Option<Day>,
    /// Chance of winning, 0–100 %.
    pub probability: u8,
    pub owner_id: UserId,
    /// Why it was won or lost.
    pub close_reason: Option<String>,
    /// Unix time the deal entered a won or lost stage.
    pub closed_at: Option<i64>,
    pub archived: bool,
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// What a form or API body may set on a deal. `None`: leave as is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealInput {
    pub name: Option<String>,
    pub company_id: Option<String>,
    pub contact_ids: Option<Vec<String>>,
    pub stage: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub expected_close: Option<String>,
    pub probability: Option<u8>,
    pub owner_id: Option<String>,
    pub close_reason: Option<String>,
    pub archived: Option<bool>,
}

impl Deal {
    /// A new deal in `pipeline`'s first stage unless the input names one.
    pub fn create(
        id: RecordId,
        input: DealInput,
        pipeline: &[Stage],
        by: UserId,
        now: i64,
    ) -> Result<(Deal, Changes), AppError> {
        if input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            return Err(AppError::field(ErrorCode::Required, "name"));
        }
        let mut deal = Deal {
            id,
            name: String::new(),
            company_id: None,
            contact_ids: Vec::new(),
            stage: pipeline.first().map(|s| s.key.clone()).unwrap_or_default(),
            amount: None,
            currency: Currency::DEFAULT,
            expected_close: None,
            probability: 10,
            owner_id: by,
            close_reason: None,
            closed_at: None,
            archived: false,
            stamp: Stamp { created_at: now, created_by: by, updated_at: now },
        };
        let changes = deal.apply(input, pipeline, now)?;
        Ok((deal, changes))
    }

    /// Applies `input`, all or nothing. Entering a won or lost stage records when.
    pub fn apply(&mut self, input: DealInput, pipeline: &[Stage], now: i64) -> Result<Changes, AppError> {
        let mut next = self.clone();
        let mut changes = Changes::default();
        if let Some(v) = input.name {
            changes.set(&mut next.name, required_line(&v, LINE_MAX, "name")?, "name");
        }
        if let Some(v) = input.company_id {
            changes.set(&mut next.company_id, record_id(&v, "company_id")?, "company_id");
        }
        if let Some(list) = input.contact_ids {
            let mut ids: Vec<RecordId> = Vec::new();
            for raw in list.iter().filter(|s| !s.trim().is_empty()) {
                let id = record_id(raw, "contact_ids")?
                    .ok_or_else(|| AppError::field(ErrorCode::Required, "contact_ids"))?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if ids.len() > 50 {
                return Err(AppError::field(ErrorCode::TooLong, "contact_ids"));
            }
            changes.set(&mut next.contact_ids, ids, "contact_ids");
        }
        if let Some(v) = input.stage {
            let stage = pipeline
                .iter()
                .find(|s| s.key == v.trim())
                .ok_or_else(|| AppError::field(ErrorCode::InvalidFormat, "stage"))?;
            changes.set(&mut next.stage, stage.key.clone(), "stage");
        }
        if let Some(v) = input.amount {
            changes.set(&mut next.amount, optional(&v, |s| Money::parse(s, "amount"))?, "amount");
        }
        if let Some(v) = input.currency {
            changes.set(&mut next.currency, Currency::parse(&v, "currency")?, "currency");
        }
        if let Some(v) = input.expected_close {
            changes.set(&mut next.expected_close, optional(&v, |s| Day::parse(s, "expected_close"))?, "expected_close");
        }
        if let Some(v) = input.probability {
            if v > 100 {
                return Err(AppError::field(ErrorCode::InvalidFormat, "probability"));
            }
            changes.set(&mut next.probability, v, "probability");
        }
        if let Some(v) = input.owner_id {
            let owner = user_id(&v, "owner_id")?.ok_or_else(|| AppError::field(ErrorCode::Required, "owner_id"))?;
            changes.set(&mut next.owner_id, owner, "owner_id");
        }
        if let Some(v) = input.close_reason {
            changes.set(&mut next.close_reason, optional_line(&v, LINE_MAX, "close_reason")?, "close_reason");
        }
        if let Some(v) = input.archived {
            changes.set(&mut next.archived, v, "archived");
        }
        if changes.contains("stage") {
            let closed = next.outcome(pipeline) != StageOutcome::Open;
            next.closed_at = closed.then_some(now);
        }
        *self = next;
        Ok(changes)
    }

    /// The outcome of the deal's stage (a stage since removed counts as open).
    pub fn outcome(&self, pipeline: &[Stage]) -> StageOutcome {
        pipeline.iter().find(|s| s.key == self.stage).map_or(StageOutcome::Open, |s| s.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_come_from_the_pipeline_and_closing_is_dated() {
        let pipeline = default_pipeline();
        let input = DealInput { name: Some("Renewal".into()), amount: Some("1200".into()), ..Default::default() };
        let (mut deal, _) = Deal::create(RecordId::random(), input, &pipeline, UserId::random(), 5).unwrap();
        assert_eq!(deal.stage, "lead");
        let unknown = DealInput { stage: Some("nope".into()), ..Default::default() };
        assert_eq!(deal.apply(unknown, &pipeline, 6).unwrap_err().field_name(), Some("stage"));
        deal.apply(DealInput { stage: Some("won".into()), ..Default::default() }, &pipeline, 7).unwrap();
        assert_eq!((deal.outcome(&pipeline), deal.closed_at), (StageOutcome::Won, Some(7)));
        let too_likely = DealInput { probability: Some(101), ..Default::default() };
        assert_eq!(deal.apply(too_likely, &pipeline, 8).unwrap_err().code(), ErrorCode::InvalidFormat);
    }
}
