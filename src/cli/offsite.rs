//! `holdfast backup verify|restore s3://BUCKET/PREFIX`, `holdfast standby` and `holdfast
//! promote`: the bucket and credentials from the `AWS_*` variables (promote: from the restored
//! settings), the backups streamed from the bucket (never copied to disk first).

use secrecy::SecretString;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::backup::describe;
use crate::app::backup::offsite::{self, OffsiteTarget};
use crate::app::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::datadir::DataDir;

fn target(url: &str) -> Result<OffsiteTarget, u8> {
    OffsiteTarget::from_url(url, |name| std::env::var(name).ok()).map_err(|e| {
        eprintln!("holdfast: {url}: {e}");
        super::exit::USAGE
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
        eprintln!("holdfast: cannot start the async runtime: {e}");
        super::exit::FAILURE
    })
}

/// What a restore or a standby needs: the bucket, a runtime, and the data directory's lock.
fn into_data_dir(config: &Config, url: &str) -> Result<(OffsiteTarget, tokio::runtime::Runtime, DataDir), u8> {
    let target = target(url)?;
    let runtime = runtime()?;
    let lock = DataDir::open(&config.data_dir).map_err(|e| {
        eprintln!("holdfast: {e}");
        e.exit_code()
    })?;
    Ok((target, runtime, lock))
}

fn when(unix: i64) -> String {
    crate::domain::timestamps::format_utc(unix)
}

/// Checks every base in the bucket; exit 0 only if all are intact.
pub fn verify(url: &str, passphrase: &SecretString) -> u8 {
    let (target, runtime) = match (target(url), runtime()) {
        (Ok(target), Ok(runtime)) => (target, runtime),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    match runtime.block_on(offsite::verify_all(&target, passphrase)) {
        Ok(checked) => {
            let mut intact = true;
            for generation in checked {
                let base = &generation.base;
                match &generation.summary {
                    Ok(summary) => println!(
                        "intact: {} ({}): {}; {} change segments reach {}",
                        base.object,
                        when(base.created_at),
                        describe(summary),
                        generation.segments,
                        when(generation.reaches)
                    ),
                    Err(e) => eprintln!("DAMAGED: {} ({}): {e}", base.object, when(base.created_at)),
                }
                for object in &generation.superseded {
                    println!("superseded (re-sent after an interruption, harmless): {object}");
                }
                for (object, why) in &generation.broken {
                    eprintln!("DAMAGED: {object}: {why}");
                }
                intact &= generation.intact();
            }
            if intact { 0 } else { super::exit::FAILURE }
        }
        Err(e) => {
            eprintln!("holdfast: {url}: {e}");
            super::exit::FAILURE
        }
    }
}

/// Restores the newest base (or the newest at or before `at`) into the data directory.
pub fn restore(config: &Config, url: &str, passphrase: &SecretString, at: Option<&str>, force: bool) -> u8 {
    let at = match at.map(|text| OffsetDateTime::parse(text, &Rfc3339)) {
        None => None,
        Some(Ok(time)) => Some(time.unix_timestamp()),
        Some(Err(_)) => {
            eprintln!("holdfast: --at: expected an RFC 3339 time such as 2026-12-07T14:30:00Z");
            return super::exit::USAGE;
        }
    };
    let (target, runtime, lock) = match into_data_dir(config, url) {
        Ok(parts) => parts,
        Err(code) => return code,
    };
    let now = SystemClock.now().unix_timestamp();
    match runtime.block_on(offsite::restore(lock.root(), &target, passphrase, at, force, now)) {
        Ok(restored) => {
            let base = &restored.base;
            println!("restored {} (made {}): {}", base.object, when(base.created_at), describe(&restored.summary));
            println!("replayed {} change segments: the data is as of {}", restored.segments, when(restored.point));
            for (object, why) in &restored.broken {
                eprintln!("WARNING: not replayed: {object}: {why}");
            }
            if let Some(aside) = &restored.aside {
                println!("the previous data is kept in {}", aside.display());
            }
            println!("the search index is rebuilt when the server starts");
            0
        }
        Err(e) => {
            eprintln!("holdfast: restore from {url} failed, nothing was changed: {e}");
            super::exit::FAILURE
        }
    }
}

/// Follows the bucket into the data directory until SIGINT or SIGTERM, printing the lag.
pub fn standby(config: &Config, url: &str, passphrase_file: &std::path::Path, every: u64) -> u8 {
    let passphrase = match super::backup::read_passphrase(passphrase_file) {
        Ok(passphrase) => passphrase,
        Err(e) => {
            eprintln!("holdfast: {e}");
            return super::exit::USAGE;
        }
    };
    let (target, runtime, lock) = match into_data_dir(config, url) {
        Ok(parts) => parts,
        Err(code) => return code,
    };
    if lock.root().join("holdfast.redb").exists() && offsite::standby::read_state(lock.root()).is_none() {
        eprintln!(
            "holdfast: {} holds a primary's data, not a standby's: use an empty data directory",
            lock.root().display()
        );
        return super::exit::USAGE;
    }
    runtime.block_on(async {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                eprintln!("holdfast: cannot watch for SIGTERM: {e}");
                return super::exit::FAILURE;
            }
        };
        loop {
            let now = SystemClock.now().unix_timestamp();
            match offsite::standby::catch_up(lock.root(), &target, &passphrase, now).await {
                Ok(state) => println!(
                    "standby: data as of {} (lag {} s); generation {}, {} change segments applied",
                    when(state.point),
                    (now - state.point).max(0),
                    when(state.generation),
                    state.segments
                ),
                Err(e) => eprintln!("holdfast: standby could not catch up (will retry): {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(every.max(1))) => {}
                _ = tokio::signal::ctrl_c() => return 0,
                _ = term.recv() => return 0,
            }
        }
    })
}

/// Takes the lease and makes the standby's data the primary's.
pub fn promote(config: &Config) -> u8 {
    super::offline::run(config, |app| async move {
        let lease = app.backups().promote().await?;
        println!("promoted: lease {lease} taken; start the server: its first off-site backup starts a new generation");
        Ok(())
    })
}
