//! `holdfast admin …`: workspaces, users, tokens and reset links, offline.

use clap::Subcommand;
use secrecy::SecretString;

use super::offline;
use crate::config::Config;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add a workspace (tenant).
    CreateWorkspace {
        #[arg(long)]
        name: String,
    },
    /// Add a user; the password is read from stdin (one line).
    CreateUser {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// owner, admin, manager, staff, viewonly or client.
        #[arg(long)]
        role: String,
        /// The company (id) a client belongs to: required for `client`, refused otherwise.
        #[arg(long)]
        company: Option<String>,
    },
    /// Print a new personal API token for a user (one line, nothing else).
    CreateToken {
        #[arg(long)]
        email: String,
        #[arg(long)]
        label: String,
    },
    /// Print a one-time password-reset URL (valid one hour).
    ResetLink {
        #[arg(long)]
        email: String,
    },
    /// Clear a sign-in lock-out.
    Unlock {
        #[arg(long)]
        email: String,
    },
    /// Read and change runtime policies (same validation and audit as the settings page).
    #[command(subcommand)]
    Settings(SettingsCommand),
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Print every setting as `key = value`.
    List,
    /// Print one setting's value.
    Get { key: String },
    /// Change one setting, e.g. `rate_limit.enabled false`.
    Set { key: String, value: String },
}

pub fn run(config: &Config, command: AdminCommand) -> u8 {
    match command {
        AdminCommand::CreateWorkspace { name } => offline::run(config, |app| async move {
            let id = app.users().create_workspace(&name).await?;
            println!("created workspace {id}");
            Ok(())
        }),
        AdminCommand::CreateUser { workspace, email, name, role, company } => {
            let password = match read_password() {
                Ok(password) => password,
                Err(e) => {
                    eprintln!("holdfast: {e}");
                    return super::exit::USAGE;
                }
            };
            offline::run(config, |app| async move {
                let role = Role::parse(&role)?;
                let company = match company.as_deref().map(str::parse) {
                    Some(Ok(id)) => Some(id),
                    Some(Err(_)) => return Err(AppError::field(ErrorCode::InvalidFormat, "company")),
                    None => None,
                };
                let id = app.users().create(&workspace, &email, &name, role, company, &password).await?;
                println!("created user {id}");
                Ok(())
            })
        }
        AdminCommand::CreateToken { email, label } => offline::run(config, |app| async move {
            println!("{}", app.tokens().create_for_email(&email, &label).await?);
            Ok(())
        }),
        AdminCommand::Unlock { email } => offline::run(config, |app| async move {
            app.throttle().unlock_by_email(&email).await?;
            println!("unlocked {email}");
            Ok(())
        }),
        AdminCommand::Settings(command) => offline::run(config, |app| async move {
            match command {
                SettingsCommand::List => {
                    for (key, value) in app.settings().list().await? {
                        println!("{key} = {value}");
                    }
                }
                SettingsCommand::Get { key } => {
                    let (_, value) =
                        app.settings().list().await?.into_iter().find(|(k, _)| *k == key).ok_or_else(unknown_key)?;
                    println!("{value}");
                }
                SettingsCommand::Set { key, value } => {
                    app.settings().set(&key, &value).await?;
                    // Secrets are never echoed back.
                    let (_, shown) =
                        app.settings().list().await?.into_iter().find(|(k, _)| *k == key).unwrap_or_default();
                    println!("{key} = {shown}");
                }
            }
            Ok(())
        }),
        AdminCommand::ResetLink { email } => {
            let origin = offline::public_origin(config);
            offline::run(config, |app| async move {
                let link = app.links().issue_reset_for_email(&email).await?.ok_or_else(no_such_user)?;
                println!("{origin}{}", link.path);
                Ok(())
            })
        }
    }
}

fn unknown_key() -> AppError {
    AppError::field(ErrorCode::NotFound, "key")
}

fn no_such_user() -> AppError {
    AppError::field(ErrorCode::NotFound, "email")
}

/// One line from stdin, without its line ending.
fn read_password() -> Result<SecretString, String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err("give the password on stdin (one line)".into());
    }
    Ok(SecretString::from(password))
}
