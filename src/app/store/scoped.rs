//! The two doors to stored rows. A [`WorkspaceTx`] is one transaction seen by one workspace:
//! it is built only from a verified scope ([`Store::workspace`]), its methods take no
//! workspace id and every key they touch starts with the scope's. A [`ServerTx`] is one
//! transaction over what belongs to no single workspace: sign-in lookups, sessions, links,
//! server settings and the audit chains. Neither hands out the redb transaction, so no code
//! outside the store opens a table.

use std::sync::Arc;

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::portal::{CompanyPortal, DocRequest, Marks, Message, Share};
use super::{Store, storage};
use crate::app::auth::{ClientScope, TenantScope};
use crate::app::keyring::Keyring;
use crate::domain::crm::Company;
use crate::domain::ids::{RecordId, UserId, WorkspaceId};
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
        ClientStore { store: self, workspace: *scope.workspace(), user: *scope.user(), company: *scope.company() }
    }
}

/// The store as one portal client sees it (see [`Store::client`]).
pub struct ClientStore<'s> {
    store: &'s Store,
    workspace: WorkspaceId,
    user: UserId,
    company: RecordId,
}

/// One transaction seen by one client: the rows of their company alone. It offers what a
/// portal page needs and nothing that names another company or reads an internal note.
pub struct ClientTx<'t, Tx> {
    inner: WorkspaceTx<'t, Tx>,
    user: UserId,
    company: RecordId,
}

pub type ClientRead<'t> = ClientTx<'t, ReadTransaction>;
pub type ClientWrite<'t> = ClientTx<'t, WriteTransaction>;

impl ClientStore<'_> {
    /// `Store::read_now`, confined to the client's company.
    pub fn read_now<T>(&self, f: impl FnOnce(&ClientRead<'_>) -> Result<T, AppError>) -> Result<T, AppError> {
        let keyring = &self.store.keyring;
        let (workspace, user, company) = (self.workspace, self.user, self.company);
        self.store.read_txn_now(|txn| f(&ClientTx { inner: WorkspaceTx { txn, workspace, keyring }, user, company }))
    }

    /// `Store::write`, confined to the client's company.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&ClientWrite<'_>) -> Result<T, AppError> + Send + 'static,
    {
        let keyring = Arc::clone(&self.store.keyring);
        let (workspace, user, company) = (self.workspace, self.user, self.company);
        self.store
            .write_txn(move |txn| {
                f(&ClientTx { inner: WorkspaceTx { txn, workspace, keyring: &keyring }, user, company })
            })
            .await
    }
}

impl<Tx: Txn> ClientTx<'_, Tx> {
    /// The client's company.
    pub fn company(&self) -> Result<Option<Company>, AppError> {
        self.inner.load::<Company>(&self.company)
    }

    /// The client's own account.
    pub(crate) fn me(&self) -> Result<Option<crate::app::store::rows::UserRecord>, AppError> {
        self.inner.user(&self.user)
    }

    /// A member of the firm or a client of this company, by id (names on messages and
    /// receipts); anyone else is unknown.
    pub(crate) fn person(&self, id: &UserId) -> Result<Option<crate::app::store::rows::UserRecord>, AppError> {
        use crate::domain::role::Role;
        Ok(self.inner.user(id)?.filter(|u| u.role != Role::Client || u.company == Some(self.company)))
    }

    /// The firm's members (whom a client's activity is reported to).
    pub(crate) fn firm_people(&self) -> Result<Vec<crate::app::store::rows::UserRecord>, AppError> {
        use crate::domain::role::Role;
        Ok(self.inner.users()?.into_iter().filter(|u| u.role != Role::Client).collect())
    }

    /// The client's company portal.
    pub(crate) fn portal(&self) -> ClientPortal<'_, Tx> {
        ClientPortal(self.inner.portal(self.company))
    }

    /// A file attached to the client's company (any other is unknown), with its data key.
    pub(crate) fn company_file(
        &self,
        id: &RecordId,
    ) -> Result<Option<(crate::app::store::files::FileRow, Vec<u8>)>, AppError> {
        let found = self.inner.file_with_key(id)?;
        Ok(found.filter(|(row, _)| row.kind == crate::domain::crm::Kind::Company && row.record == self.company))
    }

    /// A file attached to the client's company (any other is unknown), without its key.
    pub(crate) fn company_file_row(
        &self,
        id: &RecordId,
    ) -> Result<Option<crate::app::store::files::FileRow>, AppError> {
        let found = self.inner.file(id)?;
        Ok(found.filter(|row| row.kind == crate::domain::crm::Kind::Company && row.record == self.company))
    }

    /// The firm's logo, with its data key, if it has one.
    pub(crate) fn firm_logo(&self) -> Result<Option<(crate::app::store::files::FileRow, Vec<u8>)>, AppError> {
        let place = crate::app::files::LOGO_PLACE;
        let Some(row) = self.inner.files_of(crate::domain::crm::Kind::Company, &place)?.into_iter().next() else {
            return Ok(None);
        };
        self.inner.file_with_key(&row.id)
    }

    /// The firm's name, for the portal's branding.
    pub(crate) fn firm_name(&self) -> Result<String, AppError> {
        self.inner.workspace_name()
    }
}

impl ClientWrite<'_> {
    /// Appends to the workspace's audit chain.
    pub(crate) fn audit(&self, at: i64, event: crate::app::audit::AuditEvent) -> Result<(), AppError> {
        crate::app::audit::record(&self.inner, at, event)
    }

    /// Tells the firm what the client did: the activity feed and the company's timeline.
    pub(crate) fn tell_firm(&self, activity: &crate::app::store::portal::Activity) -> Result<(), AppError> {
        use crate::domain::crm::{Kind, TimelineEvent};
        self.inner.add_portal_activity(activity)?;
        let entry = crate::app::store::crm::TimelineEntry {
            at: activity.at,
            actor: Some(activity.by),
            event: TimelineEvent::Portal,
            fields: Vec::new(),
            detail: Some(activity.summary.clone()),
            link: None,
        };
        self.inner.append_timeline(Kind::Company, &self.company, &entry)
    }

    /// Stores a file the client uploaded to their company (quota checked by the caller).
    pub(crate) fn insert_company_file(
        &self,
        row: &crate::app::store::files::FileRow,
        data_key: &[u8],
    ) -> Result<(), AppError> {
        if row.kind != crate::domain::crm::Kind::Company || row.record != self.company {
            return Err(AppError::internal(crate::error::ErrorCode::Internal, "a client file of another company"));
        }
        self.inner.insert_file(row, data_key)
    }

    /// Bytes the workspace's files take (its quota's use).
    pub(crate) fn files_size(&self) -> Result<u64, AppError> {
        self.inner.files_size()
    }
}

/// A client's view of their company's portal: the rows of [`CompanyPortal`] with the thread
/// as clients see it (internal notes left out) and no way to write one.
pub struct ClientPortal<'t, Tx>(CompanyPortal<'t, Tx>);

impl<Tx: Txn> ClientPortal<'_, Tx> {
    pub fn shares(&self) -> Result<Vec<Share>, AppError> {
        self.0.shares()
    }
    pub fn share(&self, file: &RecordId) -> Result<Option<Share>, AppError> {
        self.0.share(file)
    }
    pub fn requests(&self) -> Result<Vec<DocRequest>, AppError> {
        self.0.requests()
    }
    pub fn request(&self, id: &RecordId) -> Result<Option<DocRequest>, AppError> {
        self.0.request(id)
    }
    pub fn messages(&self) -> Result<Vec<Message>, AppError> {
        self.0.client_messages()
    }
    pub fn marks(&self, user: &UserId) -> Result<Marks, AppError> {
        self.0.marks(user)
    }
}

impl ClientPortal<'_, WriteTransaction> {
    pub fn put_share(&self, share: &Share) -> Result<(), AppError> {
        self.0.put_share(share)
    }
    pub fn put_request(&self, before: &DocRequest, request: &DocRequest) -> Result<(), AppError> {
        self.0.put_request(Some(before), request)
    }
    /// Adds a message from the client (never an internal note).
    pub fn put_message(&self, message: &Message) -> Result<(), AppError> {
        self.0.put_message(&Message { internal: false, from_client: true, ..message.clone() })
    }
    pub fn put_marks(&self, user: &UserId, marks: &Marks) -> Result<(), AppError> {
        self.0.put_marks(user, marks)
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
