//! The six roles of CONTRACT.md.

use std::fmt;

use crate::error::{AppError, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Manager,
    Staff,
    #[serde(rename = "viewonly")]
    ViewOnly,
    Client,
}

impl Role {
    pub const ALL: [Role; 6] = [Role::Owner, Role::Admin, Role::Manager, Role::Staff, Role::ViewOnly, Role::Client];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Staff => "staff",
            Role::ViewOnly => "viewonly",
            Role::Client => "client",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Manager => "Manager",
            Role::Staff => "Staff",
            Role::ViewOnly => "View only",
            Role::Client => "Client (portal)",
        }
    }

    pub fn parse(text: &str) -> Result<Role, AppError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim())
            .ok_or_else(|| AppError::field(ErrorCode::InvalidFormat, "role"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
