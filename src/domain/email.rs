//! `EmailAddress::parse`: a pragmatic address check (no display names, no comments, no quotes).

use std::fmt;

use crate::error::{AppError, ErrorCode};

/// Longest address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// A trimmed, lower-cased email address with one `@`, a sane local part and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let text = input.trim();
        let invalid = || AppError::field(ErrorCode::InvalidEmail, "email");
        if text.is_empty() {
            return Err(AppError::field(ErrorCode::Required, "email"));
        }
        if text.chars().count() > MAX_EMAIL_LEN {
            return Err(AppError::field(ErrorCode::TooLong, "email"));
        }
        let (local, domain) = text.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(text.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`, for "password must not contain your email" checks.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or("")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = AppError;
    fn try_from(value: String) -> Result<Self, AppError> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(email: EmailAddress) -> String {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_normalises_case() {
        assert_eq!(EmailAddress::parse("  Ann.Lee+crm@Example.CO.uk ").unwrap().as_str(), "ann.lee+crm@example.co.uk");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@exa_mple.com",
            "ann..lee@example.com",
            "ann@example.com\r\nBcc: x@y.z",
            "<ann@example.com>",
        ] {
            assert_eq!(EmailAddress::parse(bad).unwrap_err().code(), ErrorCode::InvalidEmail, "{bad:?}");
        }
        assert_eq!(EmailAddress::parse("").unwrap_err().code(), ErrorCode::Required);
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long).unwrap_err().code(), ErrorCode::TooLong);
    }
}
