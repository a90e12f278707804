//! Pure domain types: identifiers and parsed values, free of I/O.

pub mod ids;
