//! `holdfast check-config`: print the effective config and check the data directory without
//! changing anything.

use std::os::unix::fs::PermissionsExt;

use crate::config::Config;

pub fn run(config: &Config) -> u8 {
    print!("{}", config.to_toml());
    let problems = inspect_data_dir(config);
    if problems.is_empty() {
        println!("# ok: configuration and data directory are valid");
        0
    } else {
        for problem in &problems {
            eprintln!("holdfast: {problem}");
        }
        super::exit::FAILURE
    }
}

/// Problems that would stop `serve`, found without creating or locking anything.
fn inspect_data_dir(config: &Config) -> Vec<String> {
    let root = &config.data_dir;
    let mut problems = Vec::new();
    if !root.exists() {
        println!("# note: data directory {} will be created on first start", root.display());
        return problems;
    }
    if !root.is_dir() {
        problems.push(format!("{} is not a directory", root.display()));
        return problems;
    }
    let key = root.join("keys").join("master.key");
    match std::fs::metadata(&key) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            problems.push(format!("{} is readable by group or others; run `chmod 600` on it", key.display()))
        }
        Ok(meta) if meta.len() != 32 => problems.push(format!("{} is not a valid master key", key.display())),
        Ok(_) => {}
        Err(_) if root.join("holdfast.redb").exists() => {
            problems.push(format!("{} is missing but the store exists", key.display()))
        }
        Err(_) => {}
    }
    if config.tls.mode == crate::config::TlsMode::Files {
        for file in [&config.tls.cert_file, &config.tls.key_file] {
            if std::fs::File::open(file).is_err() {
                problems.push(format!("cannot read {}", file.display()));
            }
        }
    }
    problems
}
