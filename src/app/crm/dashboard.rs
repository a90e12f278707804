//! The dashboard's numbers: open pipeline by stage and won/lost per month (read from the exact
//! running tallies the write path keeps, so the cost doesn't grow with the number of deals),
//! the caller's due tasks, and recent record activity from the audit log.

use super::deal::tally;
use super::{ListQuery, ParsedFilter};
use crate::app::auth::TenantScope;
use crate::app::auth::permissions::Action;
use crate::app::store::crm::Tally;
use crate::domain::crm::{Kind, Stage, StageOutcome, Task};
use crate::domain::fields::{Currency, Day, Money};
use crate::domain::ids::{RecordId, UserId};
use crate::error::AppError;

crate::app::service! {
    /// The dashboard and the board's stage totals.
    Reports
}

/// Active deals in one stage.
#[derive(Debug, Clone)]
pub struct StageTotal {
    pub stage: Stage,
    pub count: i64,
    pub sums: Vec<(Currency, Money)>,
}

/// Deals closed in one calendar month (UTC).
#[derive(Debug, Clone)]
pub struct MonthTotal {
    pub year: i32,
    pub month: u8,
    pub won: i64,
    pub lost: i64,
    pub won_sums: Vec<(Currency, Money)>,
}

/// One recent change to a record.
#[derive(Debug, Clone)]
pub struct Activity {
    pub at: i64,
    pub actor: Option<UserId>,
    /// created, updated or deleted
    pub verb: String,
    pub kind: Kind,
    pub id: RecordId,
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    /// Every stage of the pipeline, in order (open and closing).
    pub stages: Vec<StageTotal>,
    /// The last 12 months, oldest first.
    pub months: Vec<MonthTotal>,
    /// The caller's open tasks, soonest due first.
    pub tasks: Vec<Task>,
    pub recent: Vec<Activity>,
}

fn sums_of(tally: Option<&Tally>) -> (i64, Vec<(Currency, Money)>) {
    tally.map_or((0, Vec::new()), |t| (t.count, t.sums.clone()))
}

/// The 12 months ending with the one containing `today`, oldest first.
pub fn last_twelve_months(today: Day) -> Vec<(i32, u8)> {
    let (mut year, mut month) = today.year_month();
    let mut months = Vec::with_capacity(12);
    for _ in 0..12 {
        months.push((year, month));
        (year, month) = if month == 1 { (year - 1, 12) } else { (year, month - 1) };
    }
    months.reverse();
    months
}

fn stage_totals(pipeline: Vec<Stage>, tallies: &[(Vec<u8>, Tally)]) -> Vec<StageTotal> {
    let find = |name: &[u8]| tallies.iter().find(|(n, _)| n == name).map(|(_, t)| t);
    pipeline
        .into_iter()
        .map(|stage| {
            let (count, sums) = sums_of(find(&tally::stage(&stage.key)));
            StageTotal { stage, count, sums }
        })
        .collect()
}

impl Reports<'_> {
    /// Every stage with the exact count and sums of its active deals (for the board).
    pub async fn pipeline_totals(&self, scope: &TenantScope) -> Result<Vec<StageTotal>, AppError> {
        let pipeline = self.pipeline().stages(scope).await?;
        let tallies = self.store().workspace(scope).read(|txn| txn.tallies(Kind::Deal)).await?;
        Ok(stage_totals(pipeline, &tallies))
    }

    /// The dashboard as of `today` (the last twelve months end with its month).
    pub async fn dashboard(&self, scope: &TenantScope, today: Day) -> Result<Dashboard, AppError> {
        scope.require(Action::ReadRecords)?;
        let pipeline = self.pipeline().stages(scope).await?;
        let (tallies, audit) = self
            .store()
            .workspace(scope)
            .read(move |txn| {
                let tallies = txn.tallies(Kind::Deal)?;
                let mut recent = Vec::new();
                let mut scanned = 0;
                txn.visit_audit(|entry| {
                    scanned += 1;
                    if let Some(verb) = entry.event.strip_prefix("record.")
                        && let Some((kind, id)) = entry.target.as_deref().and_then(|t| t.split_once(':'))
                        && let (Ok(kind), Ok(id)) = (Kind::parse(kind, "kind"), id.parse())
                    {
                        recent.push(Activity { at: entry.at, actor: entry.actor, verb: verb.to_owned(), kind, id });
                    }
                    recent.len() < 10 && scanned < 500
                })?;
                Ok((tallies, recent))
            })
            .await?;
        let find = |name: &[u8]| tallies.iter().find(|(n, _)| n == name).map(|(_, t)| t);
        let stages = stage_totals(pipeline, &tallies);
        let months = last_twelve_months(today)
            .into_iter()
            .map(|(year, month)| {
                let day = Day::parse(&format!("{year:04}-{month:02}-01"), "month").unwrap_or(Day::of_unix(0));
                let (won, won_sums) = sums_of(find(&tally::month(StageOutcome::Won, day)));
                let (lost, _) = sums_of(find(&tally::month(StageOutcome::Lost, day)));
                MonthTotal { year, month, won, lost, won_sums }
            })
            .collect();
        let mine = ListQuery::first(
            ParsedFilter { assignee: Some(*scope.user()), closed: Some(false), ..Default::default() },
            8,
        );
        let tasks = self.records().list::<Task>(scope, &mine).await?.items;
        Ok(Dashboard { stages, months, tasks, recent: audit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_cross_the_year() {
        let months = last_twelve_months(Day::parse("2026-02-15", "d").unwrap());
        assert_eq!(months.first(), Some(&(2025, 3)));
        assert_eq!(months.last(), Some(&(2026, 2)));
        assert_eq!(months.len(), 12);
    }
}
