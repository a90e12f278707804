//! Runtime policies, stored by name. The settings page, the CLI and startup read them here.

use redb::{ReadTransaction, WriteTransaction};

use super::codec::{Versioned, decode, encode};
use super::storage;
use super::tables::SETTINGS;
use crate::error::AppError;

pub(crate) fn load<T: Versioned>(txn: &ReadTransaction, name: &str) -> Result<Option<T>, AppError> {
    let table = txn.open_table(SETTINGS).map_err(storage)?;
    match table.get(name).map_err(storage)? {
        Some(value) => decode(value.value()).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn save<T: Versioned>(txn: &WriteTransaction, name: &str, value: &T) -> Result<(), AppError> {
    let bytes = encode(value)?;
    txn.open_table(SETTINGS).map_err(storage)?.insert(name, bytes.as_slice()).map_err(storage)?;
    Ok(())
}
