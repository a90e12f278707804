//! `holdfast keys rotate`: a new field-encryption key, then every sealed value re-encrypted in
//! batches with progress on stdout; an interrupted run is continued by the next one.

use clap::Subcommand;

use super::offline;
use crate::app::auth::ClientInfo;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new current data key and re-encrypt every encrypted field with it; the old keys
    /// are deleted at the end. Continues an interrupted rotation.
    Rotate,
}

pub fn run(config: &Config, command: KeysCommand) -> u8 {
    match command {
        KeysCommand::Rotate => offline::run(config, |app| async move {
            let state = app.keys().begin_rotation(None, &ClientInfo::new("cli", "holdfast keys rotate")).await?;
            if state.scanned > 0 {
                println!("continuing the rotation to key {} ({} rows done)", state.target, state.scanned);
            } else {
                println!("rotating to key {}", state.target);
            }
            let started = std::time::Instant::now();
            // The first batch's progress at once (the operator sees it has started), then
            // every two seconds.
            let mut shown: Option<std::time::Instant> = None;
            app.keys()
                .finish_rotation(|step| {
                    if shown.is_none_or(|at| at.elapsed().as_secs() >= 2) || step.retired.is_some() {
                        shown = Some(std::time::Instant::now());
                        println!("{} rows looked at, {} rows re-encrypted", step.state.scanned, step.state.resealed);
                    }
                    if let Some(retired) = &step.retired {
                        let ids: Vec<String> = retired.iter().map(u32::to_string).collect();
                        let secs = started.elapsed().as_secs_f64();
                        println!(
                            "done: key {} is current; retired key(s) {}; {:.1} s, {:.0} rows re-encrypted/s",
                            step.state.target,
                            if ids.is_empty() { "none".into() } else { ids.join(", ") },
                            secs,
                            step.state.resealed as f64 / secs.max(0.001)
                        );
                    }
                })
                .await
        }),
    }
}
