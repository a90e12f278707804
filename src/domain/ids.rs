//! Random 128-bit identifiers, shown as 32 lowercase hex digits.

use std::fmt;
use std::str::FromStr;

/// Defines a typed 128-bit id so ids of different kinds can't be mixed up.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name([u8; 16]);

        impl $name {
            /// A fresh id from the operating system's CSPRNG.
            pub fn random() -> Self {
                Self(rand::random())
            }
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                let mut bytes = [0u8; 16];
                if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                    return Err(InvalidId);
                }
                hex::decode_to_slice(s, &mut bytes).map_err(|_| InvalidId)?;
                Ok(Self(bytes))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some("^[0-9a-f]{32}$"))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                s.parse()
            }
        }
    };
}

/// The text was not 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct InvalidId;

id_type!(
    /// A workspace (tenant). Every tenant-owned key in the store starts with these bytes.
    WorkspaceId
);
id_type!(
    /// A user account.
    UserId
);

id_type!(
    /// A CRM record: company, contact, deal, note or task (the kind travels beside it).
    RecordId
);

id_type!(
    /// A saved list view.
    ViewId
);

impl WorkspaceId {
    /// Not a tenant: the id of the server's own audit chain (all zeros, never generated).
    pub const SERVER: WorkspaceId = WorkspaceId([0; 16]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = WorkspaceId::random();
        assert_eq!(id.to_string().parse::<WorkspaceId>(), Ok(id));
    }

    #[test]
    fn rejects_anything_but_32_lowercase_hex_digits() {
        for bad in ["", "00", &"A".repeat(32), &"g".repeat(32), &"0".repeat(33), "../../etc/passwd"] {
            assert_eq!(bad.parse::<UserId>(), Err(InvalidId), "{bad}");
        }
    }
}
