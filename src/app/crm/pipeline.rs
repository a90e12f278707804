//! The workspace's deal pipeline: its stages, edited by managers and admins.

use serde::{Deserialize, Serialize};

use crate::app::audit::{AuditEvent, record as audit};
use crate::app::auth::permissions::Action;
use crate::app::auth::{ClientInfo, TenantScope};
use crate::app::store::{Txn, Versioned, WorkspaceTx};
use crate::domain::crm::{Stage, StageOutcome, default_pipeline};
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// The deal pipeline's stages.
    Pipeline
}

const PIPELINE: &str = "pipeline";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredPipeline {
    stages: Vec<Stage>,
}

impl Versioned for StoredPipeline {
    const VERSION: u16 = 1;
}

/// The workspace's stages (the defaults until someone edits them).
pub(crate) fn load_in(txn: &WorkspaceTx<'_, impl Txn>) -> Result<Vec<Stage>, AppError> {
    Ok(txn.setting::<StoredPipeline>(PIPELINE)?.map_or_else(default_pipeline, |p| p.stages))
}

/// Parses the pipeline editor's text: one open stage per line (`Label`), then the fixed
/// closing stages Won and Lost. Keys are derived from labels and must be unique.
pub fn parse_stages(text: &str) -> Result<Vec<Stage>, AppError> {
    let mut stages: Vec<Stage> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let label = crate::domain::text::required_line(line, 40, "stages")?;
        let key: String = label
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .trim_matches('-')
            .to_owned();
        if key.is_empty() || key == "won" || key == "lost" || stages.iter().any(|s| s.key == key) {
            return Err(AppError::field(ErrorCode::Duplicate, "stages"));
        }
        stages.push(Stage { key, label, outcome: StageOutcome::Open });
    }
    if stages.is_empty() || stages.len() > 12 {
        return Err(AppError::field(ErrorCode::InvalidFormat, "stages"));
    }
    let closing = default_pipeline().into_iter().filter(|s| s.outcome != StageOutcome::Open);
    stages.extend(closing);
    Ok(stages)
}

impl Pipeline<'_> {
    /// The workspace's pipeline stages.
    pub async fn stages(&self, scope: &TenantScope) -> Result<Vec<Stage>, AppError> {
        scope.require(Action::ReadRecords)?;
        self.store().workspace(scope).read_now(load_in)
    }

    /// Replaces the open stages (managers and up). A stage that still holds deals can't be
    /// removed: move its deals first.
    pub async fn save(&self, scope: &TenantScope, text: &str, client: &ClientInfo) -> Result<(), AppError> {
        scope.require(Action::EditAllRecords)?;
        let stages = parse_stages(text)?;
        let (scope, client, now) = (scope.clone(), client.clone(), self.now());
        self.store()
            .workspace(&scope)
            .write(move |txn| {
                let current = load_in(txn)?;
                let index = txn.index()?;
                for removed in current.iter().filter(|c| !stages.iter().any(|s| s.key == c.key)) {
                    let term = super::index_terms::Term::new().text(&removed.key).done();
                    if index.count(crate::domain::crm::Kind::Deal, super::index_terms::STAGE, &term, 1)? > 0 {
                        return Err(AppError::field(ErrorCode::InvalidFormat, "stages"));
                    }
                }
                drop(index);
                txn.save_setting(PIPELINE, &StoredPipeline { stages })?;
                let event = AuditEvent::new("pipeline.changed", Some(*scope.user())).from_client(&client);
                audit(txn, now, event)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_get_keys_and_closing_stages() {
        let stages = parse_stages("New lead\n\n Demo booked \n").unwrap();
        let keys: Vec<&str> = stages.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["new-lead", "demo-booked", "won", "lost"]);
        assert_eq!(parse_stages("A\na").unwrap_err().code(), ErrorCode::Duplicate);
        assert_eq!(parse_stages("Won").unwrap_err().code(), ErrorCode::Duplicate);
        assert_eq!(parse_stages(" ").unwrap_err().code(), ErrorCode::InvalidFormat);
    }
}
