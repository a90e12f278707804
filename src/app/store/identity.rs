//! Repositories for workspaces, users, sessions, API tokens and links.
//!
//! The global finders here (by email, session hash, token hash, link hash) exist for `app::auth`
//! alone: they are how a request *becomes* scoped. Everything else takes a workspace id that
//! came from a verified `TenantScope`.

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::access::{get, put};
use super::key_layout::{prefix_end, user_key};
use super::oplog::Logged;
use super::rows::{ApiTokenRecord, LinkRecord, SessionRecord, UserRecord, WorkspaceRecord};
use super::scoped::{ServerTx, ServerWrite, Txn, WorkspaceTx, WorkspaceWrite};
use super::storage;
use super::tables::{
    API_TOKENS, LINKS, SESSIONS, USER_EMAILS, USER_SESSIONS, USER_TOKENS, USERS, WORKSPACE_NAMES, WORKSPACES,
};
use crate::domain::ids::{UserId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

/// How workspace names are compared for uniqueness.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Whether the server has any user yet (in a read or a write transaction's users table).
fn any_user_exists(users: &impl ReadableTableMetadata) -> Result<bool, AppError> {
    Ok(!users.is_empty().map_err(storage)?)
}

/// The META key of the home workspace: the first one created, whose owners and admins run
/// the server.
const HOME_WORKSPACE: &str = "home_workspace";

fn home_workspace(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Option<WorkspaceId>, AppError> {
    Ok(meta
        .get(HOME_WORKSPACE)
        .map_err(storage)?
        .and_then(|v| <[u8; 16]>::try_from(v.value()).ok())
        .map(WorkspaceId::from_bytes))
}

fn insert_workspace(txn: &WriteTransaction, workspace: &WorkspaceRecord) -> Result<(), AppError> {
    let mut meta = txn.logged(super::tables::META).map_err(storage)?;
    if home_workspace(&meta)?.is_none() {
        meta.insert(HOME_WORKSPACE, workspace.id.as_bytes().as_slice()).map_err(storage)?;
    }
    drop(meta);
    let mut names = txn.logged(WORKSPACE_NAMES).map_err(storage)?;
    let key = name_key(&workspace.name);
    if names.get(key.as_str()).map_err(storage)?.is_some() {
        return Err(AppError::field(ErrorCode::Duplicate, "workspace_name"));
    }
    names.insert(key.as_str(), workspace.id.as_bytes().as_slice()).map_err(storage)?;
    put(&mut txn.logged(WORKSPACES).map_err(storage)?, workspace.id.as_bytes(), workspace)
}

/// Inserts a new user; the email must be free across the server.
fn insert_user(txn: &WriteTransaction, user: &UserRecord) -> Result<(), AppError> {
    let mut emails = txn.logged(USER_EMAILS).map_err(storage)?;
    if emails.get(user.email.as_str()).map_err(storage)?.is_some() {
        return Err(AppError::field(ErrorCode::Duplicate, "email"));
    }
    let key = user_key(&user.workspace_id, &user.id);
    emails.insert(user.email.as_str(), key.as_slice()).map_err(storage)?;
    put(&mut txn.logged(USERS).map_err(storage)?, &key, user)
}

/// Replaces an existing user record (email unchanged).
fn update_user(txn: &WriteTransaction, user: &UserRecord) -> Result<(), AppError> {
    put(&mut txn.logged(USERS).map_err(storage)?, &user_key(&user.workspace_id, &user.id), user)
}

/// Finds a user by email across the server (sign-in and password reset only).
fn user_by_email(
    users: &impl ReadableTable<&'static [u8], &'static [u8]>,
    emails: &impl ReadableTable<&'static str, &'static [u8]>,
    email: &str,
) -> Result<Option<UserRecord>, AppError> {
    let Some(key) = emails.get(email).map_err(storage)? else { return Ok(None) };
    get(users, key.value())
}

fn user(
    users: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    id: &UserId,
) -> Result<Option<UserRecord>, AppError> {
    get(users, &user_key(workspace, id))
}

/// Every user of one workspace, in id order.
fn users_of(
    users: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
) -> Result<Vec<UserRecord>, AppError> {
    let start = workspace.as_bytes().to_vec();
    let end = prefix_end(&start);
    let mut out = Vec::new();
    for row in users.range(start.as_slice()..end.as_slice()).map_err(storage)? {
        let (key, _) = row.map_err(storage)?;
        out.extend(get::<UserRecord>(users, key.value())?);
    }
    Ok(out)
}

// ---- sessions -------------------------------------------------------------------------------

fn insert_session(txn: &WriteTransaction, hash: &[u8; 32], session: &SessionRecord) -> Result<(), AppError> {
    put(&mut txn.logged(SESSIONS).map_err(storage)?, hash, session)?;
    let index = user_key(&session.workspace_id, &session.user_id);
    let mut by_user = txn.logged(USER_SESSIONS).map_err(storage)?;
    by_user.insert([index.as_slice(), hash].concat().as_slice(), ()).map_err(storage)?;
    Ok(())
}

fn session(
    sessions: &impl ReadableTable<&'static [u8], &'static [u8]>,
    hash: &[u8; 32],
) -> Result<Option<SessionRecord>, AppError> {
    get(sessions, hash)
}

fn update_session(txn: &WriteTransaction, hash: &[u8; 32], session: &SessionRecord) -> Result<(), AppError> {
    put(&mut txn.logged(SESSIONS).map_err(storage)?, hash, session)
}

fn delete_session(txn: &WriteTransaction, hash: &[u8; 32]) -> Result<Option<SessionRecord>, AppError> {
    let mut sessions = txn.logged(SESSIONS).map_err(storage)?;
    let Some(session) = get::<SessionRecord>(&sessions, hash)? else { return Ok(None) };
    sessions.remove(hash.as_slice()).map_err(storage)?;
    let index = [user_key(&session.workspace_id, &session.user_id).as_slice(), hash].concat();
    txn.logged(USER_SESSIONS).map_err(storage)?.remove(index.as_slice()).map_err(storage)?;
    Ok(Some(session))
}

/// Hashes of one user's sessions.
fn session_hashes_of(
    by_user: &impl ReadableTable<&'static [u8], ()>,
    workspace: &WorkspaceId,
    user: &UserId,
) -> Result<Vec<[u8; 32]>, AppError> {
    hashes_under(by_user, &user_key(workspace, user))
}

fn hashes_under(index: &impl ReadableTable<&'static [u8], ()>, prefix: &[u8]) -> Result<Vec<[u8; 32]>, AppError> {
    let end = prefix_end(prefix);
    let mut out = Vec::new();
    for row in index.range(prefix..end.as_slice()).map_err(storage)? {
        let (key, _) = row.map_err(storage)?;
        if let Ok(hash) = <[u8; 32]>::try_from(&key.value()[prefix.len()..]) {
            out.push(hash);
        }
    }
    Ok(out)
}

/// Deletes every session of a user except `keep`; returns how many went.
fn delete_sessions_of(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    user: &UserId,
    keep: Option<&[u8; 32]>,
) -> Result<usize, AppError> {
    let hashes = session_hashes_of(&txn.logged(USER_SESSIONS).map_err(storage)?, workspace, user)?;
    let mut removed = 0;
    for hash in hashes.iter().filter(|h| Some(*h) != keep) {
        removed += usize::from(delete_session(txn, hash)?.is_some());
    }
    Ok(removed)
}

// ---- API tokens -----------------------------------------------------------------------------

fn insert_token(txn: &WriteTransaction, hash: &[u8; 32], token: &ApiTokenRecord) -> Result<(), AppError> {
    put(&mut txn.logged(API_TOKENS).map_err(storage)?, hash, token)?;
    let index = [user_key(&token.workspace_id, &token.user_id).as_slice(), hash].concat();
    txn.logged(USER_TOKENS).map_err(storage)?.insert(index.as_slice(), ()).map_err(storage)?;
    Ok(())
}

fn token(
    tokens: &impl ReadableTable<&'static [u8], &'static [u8]>,
    hash: &[u8; 32],
) -> Result<Option<ApiTokenRecord>, AppError> {
    get(tokens, hash)
}

fn update_token(txn: &WriteTransaction, hash: &[u8; 32], token: &ApiTokenRecord) -> Result<(), AppError> {
    put(&mut txn.logged(API_TOKENS).map_err(storage)?, hash, token)
}

fn token_hashes_of(
    by_user: &impl ReadableTable<&'static [u8], ()>,
    workspace: &WorkspaceId,
    user: &UserId,
) -> Result<Vec<[u8; 32]>, AppError> {
    hashes_under(by_user, &user_key(workspace, user))
}

fn delete_token(txn: &WriteTransaction, hash: &[u8; 32]) -> Result<Option<ApiTokenRecord>, AppError> {
    let mut tokens = txn.logged(API_TOKENS).map_err(storage)?;
    let Some(token) = get::<ApiTokenRecord>(&tokens, hash)? else { return Ok(None) };
    tokens.remove(hash.as_slice()).map_err(storage)?;
    let index = [user_key(&token.workspace_id, &token.user_id).as_slice(), hash].concat();
    txn.logged(USER_TOKENS).map_err(storage)?.remove(index.as_slice()).map_err(storage)?;
    Ok(Some(token))
}

fn delete_tokens_of(txn: &WriteTransaction, workspace: &WorkspaceId, user: &UserId) -> Result<usize, AppError> {
    let hashes = token_hashes_of(&txn.logged(USER_TOKENS).map_err(storage)?, workspace, user)?;
    for hash in &hashes {
        delete_token(txn, hash)?;
    }
    Ok(hashes.len())
}

// ---- reset and invitation links -------------------------------------------------------------

fn insert_link(txn: &WriteTransaction, hash: &[u8; 32], link: &LinkRecord) -> Result<(), AppError> {
    put(&mut txn.logged(LINKS).map_err(storage)?, hash, link)
}

fn link(
    links: &impl ReadableTable<&'static [u8], &'static [u8]>,
    hash: &[u8; 32],
) -> Result<Option<LinkRecord>, AppError> {
    get(links, hash)
}

fn delete_link(txn: &WriteTransaction, hash: &[u8; 32]) -> Result<(), AppError> {
    txn.logged(LINKS).map_err(storage)?.remove(hash.as_slice()).map_err(storage)?;
    Ok(())
}

impl<Tx: Txn> ServerTx<'_, Tx> {
    /// Whether anyone has an account yet (setup runs once, before the first).
    pub(crate) fn any_user_exists(&self) -> Result<bool, AppError> {
        any_user_exists(&self.txn.bytes(USERS)?)
    }

    /// The first workspace, whose owners and admins run the server.
    pub(crate) fn home_workspace(&self) -> Result<Option<WorkspaceId>, AppError> {
        home_workspace(&self.txn.text(super::tables::META)?)
    }

    /// A workspace's name, by id (empty when there is none).
    pub(crate) fn workspace_named(&self, id: &WorkspaceId) -> Result<String, AppError> {
        let found: Option<WorkspaceRecord> = get(&self.txn.bytes(WORKSPACES)?, id.as_bytes())?;
        Ok(found.map(|w| w.name).unwrap_or_default())
    }

    pub(crate) fn workspace_by_name(&self, name: &str) -> Result<Option<WorkspaceRecord>, AppError> {
        let names = self.txn.text(WORKSPACE_NAMES)?;
        let Some(id) = names.get(name_key(name).as_str()).map_err(storage)? else { return Ok(None) };
        get(&self.txn.bytes(WORKSPACES)?, id.value())
    }

    /// The account signing in with `email`.
    pub(crate) fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, AppError> {
        user_by_email(&self.txn.bytes(USERS)?, &self.txn.text(USER_EMAILS)?, email)
    }

    /// The account a session, token or link names.
    pub(crate) fn user(&self, workspace: &WorkspaceId, id: &UserId) -> Result<Option<UserRecord>, AppError> {
        user(&self.txn.bytes(USERS)?, workspace, id)
    }

    pub(crate) fn session(&self, hash: &[u8; 32]) -> Result<Option<SessionRecord>, AppError> {
        session(&self.txn.bytes(SESSIONS)?, hash)
    }

    pub(crate) fn token(&self, hash: &[u8; 32]) -> Result<Option<ApiTokenRecord>, AppError> {
        token(&self.txn.bytes(API_TOKENS)?, hash)
    }

    pub(crate) fn link(&self, hash: &[u8; 32]) -> Result<Option<LinkRecord>, AppError> {
        link(&self.txn.bytes(LINKS)?, hash)
    }
}

impl ServerWrite<'_> {
    /// Creates a workspace (the first becomes the home workspace); names are unique.
    pub(crate) fn insert_workspace(&self, workspace: &WorkspaceRecord) -> Result<(), AppError> {
        insert_workspace(self.txn, workspace)
    }

    /// Creates an account (E2004 `email` when the address is taken).
    pub(crate) fn insert_user(&self, user: &UserRecord) -> Result<(), AppError> {
        insert_user(self.txn, user)
    }

    pub(crate) fn update_user(&self, user: &UserRecord) -> Result<(), AppError> {
        update_user(self.txn, user)
    }

    pub(crate) fn insert_session(&self, hash: &[u8; 32], session: &SessionRecord) -> Result<(), AppError> {
        insert_session(self.txn, hash, session)
    }

    pub(crate) fn update_session(&self, hash: &[u8; 32], session: &SessionRecord) -> Result<(), AppError> {
        update_session(self.txn, hash, session)
    }

    pub(crate) fn delete_session(&self, hash: &[u8; 32]) -> Result<Option<SessionRecord>, AppError> {
        delete_session(self.txn, hash)
    }

    /// Ends every session of one account but `keep`; how many ended.
    pub(crate) fn delete_sessions_of(
        &self,
        workspace: &WorkspaceId,
        user: &UserId,
        keep: Option<&[u8; 32]>,
    ) -> Result<usize, AppError> {
        delete_sessions_of(self.txn, workspace, user, keep)
    }

    pub(crate) fn update_token(&self, hash: &[u8; 32], token: &ApiTokenRecord) -> Result<(), AppError> {
        update_token(self.txn, hash, token)
    }

    /// Revokes every API token of one account; how many.
    pub(crate) fn delete_tokens_of(&self, workspace: &WorkspaceId, user: &UserId) -> Result<usize, AppError> {
        delete_tokens_of(self.txn, workspace, user)
    }

    pub(crate) fn insert_link(&self, hash: &[u8; 32], link: &LinkRecord) -> Result<(), AppError> {
        insert_link(self.txn, hash, link)
    }

    pub(crate) fn delete_link(&self, hash: &[u8; 32]) -> Result<(), AppError> {
        delete_link(self.txn, hash)
    }
}

impl<Tx> WorkspaceTx<'_, Tx> {
    /// Refuses an account of another workspace (a bug, never a user's doing).
    fn confine(&self, workspace: &WorkspaceId) -> Result<(), AppError> {
        if *workspace == self.workspace {
            Ok(())
        } else {
            Err(AppError::internal(ErrorCode::Internal, "an account of another workspace"))
        }
    }
}

impl<Tx: Txn> WorkspaceTx<'_, Tx> {
    /// The workspace's name (the firm's, on its portal and emails).
    pub(crate) fn workspace_name(&self) -> Result<String, AppError> {
        let found: Option<WorkspaceRecord> = get(&self.txn.bytes(WORKSPACES)?, self.workspace.as_bytes())?;
        Ok(found.map(|w| w.name).unwrap_or_default())
    }

    /// One account of this workspace.
    pub(crate) fn user(&self, id: &UserId) -> Result<Option<UserRecord>, AppError> {
        user(&self.txn.bytes(USERS)?, &self.workspace, id)
    }

    /// Every account of this workspace.
    pub(crate) fn users(&self) -> Result<Vec<UserRecord>, AppError> {
        users_of(&self.txn.bytes(USERS)?, &self.workspace)
    }

    /// The sessions of one account of this workspace, by hash.
    pub(crate) fn sessions_of(&self, user: &UserId) -> Result<Vec<([u8; 32], SessionRecord)>, AppError> {
        let sessions = self.txn.bytes(SESSIONS)?;
        let hashes = session_hashes_of(&self.txn.set(USER_SESSIONS)?, &self.workspace, user)?;
        let found = hashes.into_iter().map(|hash| Ok(session(&sessions, &hash)?.map(|s| (hash, s))));
        found.filter_map(Result::transpose).collect()
    }

    /// The API tokens of one account of this workspace, by hash.
    pub(crate) fn tokens_of(&self, user: &UserId) -> Result<Vec<([u8; 32], ApiTokenRecord)>, AppError> {
        let tokens = self.txn.bytes(API_TOKENS)?;
        let hashes = token_hashes_of(&self.txn.set(USER_TOKENS)?, &self.workspace, user)?;
        let found = hashes.into_iter().map(|hash| Ok(token(&tokens, &hash)?.map(|t| (hash, t))));
        found.filter_map(Result::transpose).collect()
    }
}

impl WorkspaceWrite<'_> {
    /// Creates an account in this workspace (E2004 `email` when the address is taken).
    pub(crate) fn insert_user(&self, user: &UserRecord) -> Result<(), AppError> {
        self.confine(&user.workspace_id)?;
        insert_user(self.txn, user)
    }

    /// Saves an account of this workspace.
    pub(crate) fn update_user(&self, user: &UserRecord) -> Result<(), AppError> {
        self.confine(&user.workspace_id)?;
        update_user(self.txn, user)
    }

    /// Ends every session of one account of this workspace; how many ended.
    pub(crate) fn delete_sessions_of(&self, user: &UserId) -> Result<usize, AppError> {
        delete_sessions_of(self.txn, &self.workspace, user, None)
    }

    /// Ends every session of one account of this workspace but `keep`; how many ended.
    pub(crate) fn delete_sessions_except(&self, user: &UserId, keep: Option<&[u8; 32]>) -> Result<usize, AppError> {
        delete_sessions_of(self.txn, &self.workspace, user, keep)
    }

    /// Ends one session of `user` of this workspace (E3002 for anyone else's).
    pub(crate) fn delete_session_of(&self, user: &UserId, hash: &[u8; 32]) -> Result<(), AppError> {
        let hashes = session_hashes_of(&self.txn.logged(USER_SESSIONS).map_err(storage)?, &self.workspace, user)?;
        if !hashes.contains(hash) {
            return Err(ErrorCode::NotFound.into());
        }
        delete_session(self.txn, hash).map(drop)
    }

    /// Stores an API token of an account of this workspace.
    pub(crate) fn insert_token(&self, hash: &[u8; 32], record: &ApiTokenRecord) -> Result<(), AppError> {
        self.confine(&record.workspace_id)?;
        insert_token(self.txn, hash, record)
    }

    /// Revokes one API token of `user` of this workspace (E3002 for anyone else's).
    pub(crate) fn delete_token_of(&self, user: &UserId, hash: &[u8; 32]) -> Result<(), AppError> {
        let hashes = token_hashes_of(&self.txn.logged(USER_TOKENS).map_err(storage)?, &self.workspace, user)?;
        if !hashes.contains(hash) {
            return Err(ErrorCode::NotFound.into());
        }
        delete_token(self.txn, hash).map(drop)
    }

    /// Revokes every API token of one account of this workspace; how many.
    pub(crate) fn delete_tokens_of(&self, user: &UserId) -> Result<usize, AppError> {
        delete_tokens_of(self.txn, &self.workspace, user)
    }

    /// Stores a one-time link for an account of this workspace.
    pub(crate) fn insert_link(&self, hash: &[u8; 32], link: &LinkRecord) -> Result<(), AppError> {
        self.confine(&link.workspace_id)?;
        insert_link(self.txn, hash, link)
    }
}

impl<Tx: Txn> ServerTx<'_, Tx> {
    /// Every account of `workspace` (the offline CLI picks whom it acts as).
    pub(crate) fn users_of(&self, workspace: &WorkspaceId) -> Result<Vec<UserRecord>, AppError> {
        users_of(&self.txn.bytes(USERS)?, workspace)
    }
}
