//! Runtime policies, stored by name. The settings page, the CLI and startup read them here.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::codec::{Versioned, decode, encode};
use super::oplog::Logged;
use super::scoped::{ServerTx, ServerWrite, Txn};
use super::storage;
use super::tables::SETTINGS;
use crate::error::AppError;

pub(super) fn load<T: Versioned>(txn: &ReadTransaction, name: &str) -> Result<Option<T>, AppError> {
    let table = txn.open_table(SETTINGS).map_err(storage)?;
    match table.get(name).map_err(storage)? {
        Some(value) => decode(value.value()).map(Some),
        None => Ok(None),
    }
}

fn save<T: Versioned>(txn: &WriteTransaction, name: &str, value: &T) -> Result<(), AppError> {
    let bytes = encode(value)?;
    txn.logged(SETTINGS).map_err(storage)?.insert(name, bytes.as_slice()).map_err(storage)?;
    Ok(())
}

impl<Tx: Txn> ServerTx<'_, Tx> {
    /// A server-wide policy stored under `name`.
    pub(crate) fn setting<T: Versioned>(&self, name: &str) -> Result<Option<T>, AppError> {
        match self.txn.text(SETTINGS)?.get(name).map_err(storage)? {
            Some(value) => decode(value.value()).map(Some),
            None => Ok(None),
        }
    }
}

impl ServerWrite<'_> {
    /// Stores a server-wide policy under `name`.
    pub(crate) fn save_setting<T: Versioned>(&self, name: &str, value: &T) -> Result<(), AppError> {
        save(self.txn, name, value)
    }
}
