//! The two doors to stored rows. A [`WorkspaceTx`] is one transaction seen by one workspace:
//! it is built only from a verified scope ([`Store::workspace`]), its methods take no
//! workspace id and every key they touch starts with the scope's. A [`ServerTx`] is one
//! transaction over what belongs to no single workspace: sign-in lookups, sessions, links,
//! server settings and the audit chains. Neither hands out the redb transaction, so no code
//! outside the store opens a table.

use std::sync::Arc;

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::{Store, storage};
use crate::app::auth::{ClientScope, TenantScope};
use crate::app::keyring::Keyring;
use crate::domain::crm::Company;
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::error::AppError;

type BytesTable = TableDefinition<'static, &'static [u8], &'static [u8]>;
type SetTable = TableDefinition<'static, &'static [u8], ()>;
type TextTable = TableDefinition<'static, &'static str, &'static [u8]>;

mod private {
    pub trait Sealed {}
    impl Sealed for redb::ReadTransaction {}
    impl Sealed for redb::WriteTransaction {}
}

/// A read or write transaction, for the methods both kinds of handle share.
pub trait Txn: private::Sealed {
    fn bytes(&self, table: BytesTable) -> Result<impl ReadableTable<&'static [u8], &'static [u8]> + '_, AppError>;
    fn set(&self, table: SetTable) -> Result<impl ReadableTable<&'static [u8], ()> + '_, AppError>;
    fn text(&self, table: TextTable) -> Result<impl ReadableTable<&'static str, &'static [u8]> + '_, AppError>;
}

impl Txn for ReadTransaction {
    fn bytes(&self, table: BytesTable) -> Result<impl ReadableTable<&'static [u8], &'static [u8]> + '_, AppError> {
        self.open_table(table).map_err(storage)
    }
    fn set(&self, table: SetTable) -> Result<impl ReadableTable<&'static [u8], ()> + '_, AppError> {
        self.open_table(table).map_err(storage)
    }
    fn text(&self, table: TextTable) -> Result<impl ReadableTable<&'static str, &'static [u8]> + '_, AppError> {
        self.open_table(table).map_err(storage)
    }
}

impl Txn for WriteTransaction {
    fn bytes(&self, table: BytesTable) -> Result<impl ReadableTable<&'static [u8], &'static [u8]> + '_, AppError> {
        self.open_table(table).map_err(storage)
    }
    fn set(&self, table: SetTable) -> Result<impl ReadableTable<&'static [u8], ()> + '_, AppError> {
        self.open_table(table).map_err(storage)
    }
    fn text(&self, table: TextTable) -> Result<impl ReadableTable<&'static str, &'static [u8]> + '_, AppError> {
        self.open_table(table).map_err(storage)
    }
}

/// One transaction seen by one workspace (see the module doc).
pub struct WorkspaceTx<'t, Tx> {
    pub(super) txn: &'t Tx,
    pub(super) workspace: WorkspaceId,
    pub(super) keyring: &'t Keyring,
}

pub type WorkspaceRead<'t> = WorkspaceTx<'t, ReadTransaction>;
pub(crate) type WorkspaceWrite<'t> = WorkspaceTx<'t, WriteTransaction>;

impl<Tx> WorkspaceTx<'_, Tx> {
    /// The workspace every method of this handle is confined to.
    pub fn workspace(&self) -> &WorkspaceId {
        &self.workspace
    }
}

/// One transaction over the server-wide tables (see the module doc).
pub(crate) struct ServerTx<'t, Tx> {
    pub(super) txn: &'t Tx,
    pub(super) keyring: &'t Keyring,
}

pub(crate) type ServerRead<'t> = ServerTx<'t, ReadTransaction>;
pub(crate) type ServerWrite<'t> = ServerTx<'t, WriteTransaction>;

/// The store as one workspace sees it: made from a verified scope, it runs transactions that
/// reach only that workspace's rows.
pub struct WorkspaceStore<'s> {
    store: &'s Store,
    workspace: WorkspaceId,
}

impl Store {
    /// The store as `scope`'s workspace sees it: the only way to a workspace's rows.
    ///
    /// ```
    /// # use holdfast::{app::{App, auth::TenantScope}, domain::ids::WorkspaceId, error::AppError};
    /// fn whose(app: &App, scope: &TenantScope) -> Result<WorkspaceId, AppError> {
    ///     app.store().workspace(scope).read_now(|txn| Ok(*txn.workspace()))
    /// }
    /// ```
    ///
    /// A bare workspace id is not a scope: a repository can't be reached with one.
    ///
    /// ```compile_fail,E0308
    /// # use holdfast::{app::App, domain::ids::WorkspaceId, error::AppError};
    /// fn whose(app: &App, workspace: WorkspaceId) -> Result<WorkspaceId, AppError> {
    ///     app.store().workspace(&workspace).read_now(|txn| Ok(*txn.workspace()))
    /// }
    /// ```
    pub fn workspace(&self, scope: &TenantScope) -> WorkspaceStore<'_> {
        WorkspaceStore { store: self, workspace: *scope.workspace() }
    }

    /// The store as a portal client sees it: their own company of their firm's workspace.
    ///
    /// ```
    /// # use holdfast::{app::{App, auth::ClientScope}, error::AppError};
    /// fn company(app: &App, client: &ClientScope) -> Result<bool, AppError> {
    ///     app.store().client(client).read_now(|txn| Ok(txn.company()?.is_some()))
    /// }
    /// ```
    ///
    /// A member's scope is not a client's (nor the other way round):
    ///
    /// ```compile_fail,E0308
    /// # use holdfast::{app::{App, auth::TenantScope}, error::AppError};
    /// fn company(app: &App, member: &TenantScope) -> Result<bool, AppError> {
    ///     app.store().client(member).read_now(|txn| Ok(txn.company()?.is_some()))
    /// }
    /// ```
    pub fn client(&self, scope: &ClientScope) -> ClientStore<'_> {
        ClientStore { store: self, workspace: *scope.workspace(), company: *scope.company() }
    }
}

/// The store as one portal client sees it (see [`Store::client`]).
pub struct ClientStore<'s> {
    store: &'s Store,
    workspace: WorkspaceId,
    company: RecordId,
}

/// One read transaction seen by one client: the rows of their company alone.
pub struct ClientRead<'t> {
    inner: WorkspaceRead<'t>,
    company: RecordId,
}

impl ClientStore<'_> {
    /// `Store::read_now`, confined to the client's company.
    pub fn read_now<T>(&self, f: impl FnOnce(&ClientRead<'_>) -> Result<T, AppError>) -> Result<T, AppError> {
        let keyring = &self.store.keyring;
        self.store.read_txn_now(|txn| {
            f(&ClientRead { inner: WorkspaceTx { txn, workspace: self.workspace, keyring }, company: self.company })
        })
    }
}

impl ClientRead<'_> {
    /// The client's company.
    pub fn company(&self) -> Result<Option<Company>, AppError> {
        self.inner.load::<Company>(&self.company)
    }
}

impl WorkspaceStore<'_> {
    /// [`Store::read`], confined to the workspace.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&WorkspaceRead<'_>) -> Result<T, AppError> + Send + 'static,
    {
        let (workspace, keyring) = (self.workspace, Arc::clone(&self.store.keyring));
        self.store.read_txn(move |txn| f(&WorkspaceTx { txn, workspace, keyring: &keyring })).await
    }

    /// `Store::read_now`, confined to the workspace.
    pub fn read_now<T>(&self, f: impl FnOnce(&WorkspaceRead<'_>) -> Result<T, AppError>) -> Result<T, AppError> {
        let keyring = &self.store.keyring;
        self.store.read_txn_now(|txn| f(&WorkspaceTx { txn, workspace: self.workspace, keyring }))
    }

    /// [`Store::write`], confined to the workspace.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&WorkspaceWrite<'_>) -> Result<T, AppError> + Send + 'static,
    {
        let (workspace, keyring) = (self.workspace, Arc::clone(&self.store.keyring));
        self.store.write_txn(move |txn| f(&WorkspaceTx { txn, workspace, keyring: &keyring })).await
    }
}
