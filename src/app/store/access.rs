//! Typed get/put helpers over the envelope codec, so repositories stay short.

use redb::ReadableTable;

use super::codec::{Versioned, decode, encode};
use super::oplog::LoggedTable;
use super::storage;
use crate::error::AppError;

pub(crate) fn get<T: Versioned>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<T>, AppError> {
    match table.get(key).map_err(storage)? {
        Some(value) => decode(value.value()).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn put<T: Versioned>(
    table: &mut LoggedTable<&'static [u8], &'static [u8]>,
    key: &[u8],
    value: &T,
) -> Result<(), AppError> {
    let bytes = encode(value)?;
    table.insert(key, bytes.as_slice()).map_err(storage)?;
    Ok(())
}
