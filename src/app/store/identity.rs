//! Repositories for workspaces, users, sessions, API tokens and links.
//!
//! The global finders here (by email, session hash, token hash, link hash) exist for `app::auth`
//! alone: they are how a request *becomes* scoped. Everything else takes a workspace id that
//! came from a verified `TenantScope`.

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::access::{get, put};
use super::keys::{prefix_end, user_key};
use super::records::{ApiTokenRecord, LinkRecord, SessionRecord, UserRecord, WorkspaceRecord};
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
pub(crate) fn any_user_exists(users: &impl ReadableTableMetadata) -> Result<bool, AppError> {
    Ok(!users.is_empty().map_err(storage)?)
}

/// The META key of the home workspace: the first one created, whose owners and admins run
/// the server.
const HOME_WORKSPACE: &str = "home_workspace";

pub(crate) fn home_workspace(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Option<WorkspaceId>, AppError> {
    Ok(meta
        .get(HOME_WORKSPACE)
        .map_err(storage)?
        .and_then(|v| <[u8; 16]>::try_from(v.value()).ok())
        .map(WorkspaceId::from_bytes))
}

pub(crate) fn insert_workspace(txn: &WriteTransaction, workspace: &WorkspaceRecord) -> Result<(), AppError> {
    let mut meta = txn.open_table(super::tables::META).map_err(storage)?;
    if home_workspace(&meta)?.is_none() {
        meta.insert(HOME_WORKSPACE, workspace.id.as_bytes().as_slice()).map_err(storage)?;
    }
    drop(meta);
    let mut names = txn.open_table(WORKSPACE_NAMES).map_err(storage)?;
    let key = name_key(&workspace.name);
    if names.get(key.as_str()).map_err(storage)?.is_some() {
        return Err(AppError::field(ErrorCode::Duplicate, "workspace_name"));
    }
    names.insert(key.as_str(), workspace.id.as_bytes().as_slice()).map_err(storage)?;
    put(&mut txn.open_table(WORKSPACES).map_err(storage)?, workspace.id.as_bytes(), workspace)
}

pub(crate) fn workspace_by_name(txn: &ReadTransaction, name: &str) -> Result<Option<WorkspaceRecord>, AppError> {
    let names = txn.open_table(WORKSPACE_NAMES).map_err(storage)?;
    let Some(id) = names.get(name_key(name).as_str()).map_err(storage)? else { return Ok(None) };
    get(&txn.open_table(WORKSPACES).map_err(storage)?, id.value())
}

/// Inserts a new user; the email must be free across the server.
pub(crate) fn insert_user(txn: &WriteTransaction, user: &UserRecord) -> Result<(), AppError> {
    let mut emails = txn.open_table(USER_EMAILS).map_err(storage)?;
    if emails.get(user.email.as_str()).map_err(storage)?.is_some() {
        return Err(AppError::field(ErrorCode::Duplicate, "email"));
    }
    let key = user_key(&user.workspace_id, &user.id);
    emails.insert(user.email.as_str(), key.as_slice()).map_err(storage)?;
    put(&mut txn.open_table(USERS).map_err(storage)?, &key, user)
}

/// Replaces an existing user record (email unchanged).
pub(crate) fn update_user(txn: &WriteTransaction, user: &UserRecord) -> Result<(), AppError> {
    put(&mut txn.open_table(USERS).map_err(storage)?, &user_key(&user.workspace_id, &user.id), user)
}

/// Finds a user by email across the server (sign-in and password reset only).
pub(crate) fn user_by_email(
    users: &impl ReadableTable<&'static [u8], &'static [u8]>,
    emails: &impl ReadableTable<&'static str, &'static [u8]>,
    email: &str,
) -> Result<Option<UserRecord>, AppError> {
    let Some(key) = emails.get(email).map_err(storage)? else { return Ok(None) };
    get(users, key.value())
}

pub(crate) fn user_by_email_r(txn: &ReadTransaction, email: &str) -> Result<Option<UserRecord>, AppError> {
    let users = txn.open_table(USERS).map_err(storage)?;
    let emails = txn.open_table(USER_EMAILS).map_err(storage)?;
    user_by_email(&users, &emails, email)
}

pub(crate) fn user(
    users: &impl ReadableTable<&'static [u8], &'static [u8]>,
    workspace: &WorkspaceId,
    id: &UserId,
) -> Result<Option<UserRecord>, AppError> {
    get(users, &user_key(workspace, id))
}

/// Every user of one workspace, in id order.
pub(crate) fn users_of(
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

pub(crate) fn insert_session(txn: &WriteTransaction, hash: &[u8; 32], session: &SessionRecord) -> Result<(), AppError> {
    put(&mut txn.open_table(SESSIONS).map_err(storage)?, hash, session)?;
    let index = user_key(&session.workspace_id, &session.user_id);
    let mut by_user = txn.open_table(USER_SESSIONS).map_err(storage)?;
    by_user.insert([index.as_slice(), hash].concat().as_slice(), ()).map_err(storage)?;
    Ok(())
}

pub(crate) fn session(
    sessions: &impl ReadableTable<&'static [u8], &'static [u8]>,
    hash: &[u8; 32],
) -> Result<Option<SessionRecord>, AppError> {
    get(sessions, hash)
}

pub(crate) fn update_session(txn: &WriteTransaction, hash: &[u8; 32], session: &SessionRecord) -> Result<(), AppError> {
    put(&mut txn.open_table(SESSIONS).map_err(storage)?, hash, session)
}

pub(crate) fn delete_session(txn: &WriteTransaction, hash: &[u8; 32]) -> Result<Option<SessionRecord>, AppError> {
    let mut sessions = txn.open_table(SESSIONS).map_err(storage)?;
    let Some(session) = get::<SessionRecord>(&sessions, hash)? else { return Ok(None) };
    sessions.remove(hash.as_slice()).map_err(storage)?;
    let index = [user_key(&session.workspace_id, &session.user_id).as_slice(), hash].concat();
    txn.open_table(USER_SESSIONS).map_err(storage)?.remove(index.as_slice()).map_err(storage)?;
    Ok(Some(session))
}

/// Hashes of one user's sessions.
pub(crate) fn session_hashes_of(
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
pub(crate) fn delete_sessions_of(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    user: &UserId,
    keep: Option<&[u8; 32]>,
) -> Result<usize, AppError> {
    let hashes = session_hashes_of(&txn.open_table(USER_SESSIONS).map_err(storage)?, workspace, user)?;
    let mut removed = 0;
    for hash in hashes.iter().filter(|h| Some(*h) != keep) {
        removed += usize::from(delete_session(txn, hash)?.is_some());
    }
    Ok(removed)
}

// ---- API tokens -----------------------------------------------------------------------------

pub(crate) fn insert_token(txn: &WriteTransaction, hash: &[u8; 32], token: &ApiTokenRecord) -> Result<(), AppError> {
    put(&mut txn.open_table(API_TOKENS).map_err(storage)?, hash, token)?;
    let index = [user_key(&token.workspace_id, &token.user_id).as_slice(), hash].concat();
    txn.open_table(USER_TOKENS).map_err(storage)?.insert(index.as_slice(), ()).map_err(storage)?;
    Ok(())
}

pub(crate) fn token(
    tokens: &impl ReadableTable<&'static [u8], &'static [u8]>,
    hash: &[u8; 32],
) -> Result<Option<ApiTokenRecord>, AppError> {
    get(tokens, hash)
}

pub(crate) fn update_token(txn: &WriteTransaction, hash: &[u8; 32], token: &ApiTokenRecord) -> Result<(), AppError> {
    put(&mut txn.open_table(API_TOKENS).map_err(storage)?, hash, token)
}

pub(crate) fn token_hashes_of(
    by_user: &impl ReadableTable<&'static [u8], ()>,
    workspace: &WorkspaceId,
    user: &UserId,
) -> Result<Vec<[u8; 32]>, AppError> {
    hashes_under(by_user, &user_key(workspace, user))
}

pub(crate) fn delete_token(txn: &WriteTransaction, hash: &[u8; 32]) -> Result<Option<ApiTokenRecord>, AppError> {
    let mut tokens = txn.open_table(API_TOKENS).map_err(storage)?;
    let Some(token) = get::<ApiTokenRecord>(&tokens, hash)? else { return Ok(None) };
    tokens.remove(hash.as_slice()).map_err(storage)?;
    let index = [user_key(&token.workspace_id, &token.user_id).as_slice(), hash].concat();
    txn.open_table(USER_TOKENS).map_err(storage)?.remove(index.as_slice()).map_err(storage)?;
    Ok(Some(token))
}

pub(crate) fn delete_tokens_of(
    txn: &WriteTransaction,
    workspace: &WorkspaceId,
    user: &UserId,
) -> Result<usize, AppError> {
    let hashes = token_hashes_of(&txn.open_table(USER_TOKENS).map_err(storage)?, workspace, user)?;
    for hash in &hashes {
        delete_token(txn, hash)?;
    }
    Ok(hashes.len())
}

// ---- reset and invitation links -------------------------------------------------------------

pub(crate) fn insert_link(txn: &WriteTransaction, hash: &[u8; 32], link: &LinkRecord) -> Result<(), AppError> {
    put(&mut txn.open_table(LINKS).map_err(storage)?, hash, link)
}

pub(crate) fn link(
    links: &impl ReadableTable<&'static [u8], &'static [u8]>,
    hash: &[u8; 32],
) -> Result<Option<LinkRecord>, AppError> {
    get(links, hash)
}

pub(crate) fn delete_link(txn: &WriteTransaction, hash: &[u8; 32]) -> Result<(), AppError> {
    txn.open_table(LINKS).map_err(storage)?.remove(hash.as_slice()).map_err(storage)?;
    Ok(())
}
