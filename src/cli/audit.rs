//! `holdfast audit verify`: check every audit hash chain; exit 0 only if all are intact.

use clap::Subcommand;

use super::offline;
use crate::config::Config;
use crate::error::{AppError, ErrorCode};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log hash chains and name the first bad entry of each broken one.
    Verify,
}

pub fn run(config: &Config, command: AuditCommand) -> u8 {
    match command {
        AuditCommand::Verify => offline::run(config, |app| async move {
            let report = app.audit().verify().await?;
            if report.problems.is_empty() {
                println!("intact: {} entries in {} chains", report.entries, report.chains);
                return Ok(());
            }
            for problem in &report.problems {
                println!("broken: workspace {} entry {}: {}", problem.workspace, problem.seq, problem.reason);
            }
            Err(AppError::internal(ErrorCode::StorageUnavailable, format!("{} broken chain(s)", report.problems.len())))
        }),
    }
}
