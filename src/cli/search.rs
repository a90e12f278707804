//! `holdfast search rebuild`: rebuild the full-text index from the store (offline), with
//! progress on stderr.

use std::time::Instant;

use clap::Subcommand;

use super::offline;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Rebuild the full-text index from the store, from scratch.
    Rebuild,
}

pub fn run(config: &Config, command: SearchCommand) -> u8 {
    match command {
        SearchCommand::Rebuild => offline::run(config, |app| async move {
            let started = Instant::now();
            eprintln!("holdfast: rebuilding the search index");
            let documents = app.search().rebuild(|n| eprintln!("holdfast: {n} records indexed")).await?;
            eprintln!(
                "holdfast: search index rebuilt: {documents} records in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }),
    }
}
