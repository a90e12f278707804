//! `holdfast dev seed`: deterministic synthetic data for demos and benchmarks (offline).

use std::time::Instant;

use clap::Subcommand;

use super::offline;
use crate::app::crm::seed::SeedPlan;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Create synthetic companies, contacts, deals, notes and tasks in a workspace.
    Seed {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        contacts: usize,
        /// Default: one per five contacts.
        #[arg(long)]
        companies: Option<usize>,
        /// Default: one per two contacts.
        #[arg(long)]
        deals: Option<usize>,
        /// The same seed always gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Shared documents per company in its client portal (uploads: set
        /// `rate_limit.enabled` to false first for many).
        #[arg(long, default_value_t = 0)]
        portal_documents: usize,
        /// Open requests per company in its client portal.
        #[arg(long, default_value_t = 0)]
        portal_requests: usize,
    },
}

pub fn run(config: &Config, command: DevCommand) -> u8 {
    match command {
        DevCommand::Seed { workspace, contacts, companies, deals, seed, portal_documents, portal_requests } => {
            offline::run(config, |app| async move {
                let plan = SeedPlan {
                    contacts,
                    companies: companies.unwrap_or(contacts / 5),
                    deals: deals.unwrap_or(contacts / 2),
                    seed,
                };
                let started = Instant::now();
                let report =
                    app.records().seed(&workspace, plan, move |what, done| eprintln!("{what}: {done}")).await?;
                println!(
                    "seeded {} companies, {} contacts, {} deals, {} notes, {} tasks in {:.1} s",
                    report.companies,
                    report.contacts,
                    report.deals,
                    report.notes,
                    report.tasks,
                    started.elapsed().as_secs_f64()
                );
                if portal_documents + portal_requests > 0 {
                    let started = Instant::now();
                    let (shared, asked) = app
                        .portal()
                        .seed(&workspace, &report.company_ids, portal_documents, portal_requests, |done| {
                            if done % 100 == 0 {
                                eprintln!("portals: {done}");
                            }
                        })
                        .await?;
                    let took = started.elapsed().as_secs_f64();
                    println!("seeded {shared} shared documents and {asked} open requests in {took:.1} s");
                }
                Ok(())
            })
        }
    }
}
