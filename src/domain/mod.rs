//! Pure domain types: identifiers and parsed values, free of I/O. Parse, don't validate: a
//! value of these types is already known to be well-formed.

pub mod crm;
pub mod email;
pub mod fields;
pub mod ids;
pub mod portal;
pub mod role;
pub mod spreadsheet;
pub mod text;
pub mod timestamps;
pub mod user_agent;
