//! Every table of the store, in one list. Keys of tenant-owned tables begin with the 16 bytes
//! of the workspace id; the few global tables are the ones that *find* a tenant (by name,
//! email or session) and say so here.

use redb::{TableDefinition, TableHandle};

/// Store metadata: `schema_version` and other single values. Global.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Workspace id → workspace. The key is the tenant id itself.
pub(crate) const WORKSPACES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("workspaces");

/// Normalised workspace name → workspace id. Global: names are unique across the server.
pub(crate) const WORKSPACE_NAMES: TableDefinition<&str, &[u8]> = TableDefinition::new("workspace_names");

/// Workspace id ‖ user id → user.
pub(crate) const USERS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("users");

/// Normalised email → workspace id ‖ user id. Global: sign-in finds the tenant by email.
pub(crate) const USER_EMAILS: TableDefinition<&str, &[u8]> = TableDefinition::new("user_emails");

/// SHA-256 of a session token → session. Global: the cookie finds the tenant.
pub(crate) const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");

/// Workspace id ‖ user id ‖ session hash → nothing: a user's sessions, to list and revoke them.
pub(crate) const USER_SESSIONS: TableDefinition<&[u8], ()> = TableDefinition::new("user_sessions");

/// SHA-256 of an API token → token record. Global: the bearer token finds the tenant.
pub(crate) const API_TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("api_tokens");

/// Workspace id ‖ user id ‖ token hash → nothing: a user's API tokens.
pub(crate) const USER_TOKENS: TableDefinition<&[u8], ()> = TableDefinition::new("user_tokens");

/// SHA-256 of a reset or invitation link token → link. Global: the link finds the tenant.
pub(crate) const LINKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("links");

/// Workspace id ‖ sequence number (big-endian u64) → audit entry (hash-chained per workspace).
pub(crate) const AUDIT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("audit");

/// Workspace id → the latest audit sequence number and entry hash.
pub(crate) const AUDIT_HEADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("audit_heads");

/// Policy name → policy (JSON envelope). Global: runtime policies of the server.
pub(crate) const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");

/// Workspace id ‖ kind byte ‖ record id → CRM record (company, contact, deal, note, task).
pub(crate) const RECORDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("records");

/// Workspace id ‖ kind byte ‖ index byte ‖ term bytes ‖ record id → nothing: the secondary
/// indexes that lists, filters and duplicate checks scan in key order.
pub(crate) const RECORD_INDEX: TableDefinition<&[u8], ()> = TableDefinition::new("record_index");

/// Workspace id ‖ kind byte ‖ record id ‖ Unix time (u64 BE) ‖ 4 random bytes → timeline entry.
pub(crate) const TIMELINE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("timeline");

/// Global sequence number (u64 BE) → changed record (workspace, kind, id): the search outbox,
/// written in the same transaction as the change and drained by the indexer. Global because
/// the indexer serves every workspace; each row names its workspace.
pub(crate) const SEARCH_OUTBOX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("search_outbox");

/// Workspace id ‖ user id ‖ SHA-256 of an `Idempotency-Key` → the first answer, for 24 hours.
pub(crate) const IDEMPOTENCY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("idempotency");

/// Workspace id ‖ setting name → a workspace's CRM settings (pipeline stages, tag colours).
pub(crate) const CRM_SETTINGS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("crm_settings");

/// Workspace id ‖ kind byte ‖ tally name → running count and sums per currency (e.g. open deals
/// per stage, deals won per month), kept exact by the write path so dashboards read a handful
/// of rows instead of every deal.
pub(crate) const TALLIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tallies");

/// Workspace id ‖ upload id → an uploaded import file awaiting its mapping and commit: created
/// time (u64 BE) ‖ uploader ‖ kind byte ‖ the file sealed with the server key. Kept one hour.
pub(crate) const IMPORT_UPLOADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("import_uploads");

/// Workspace id ‖ import id → a committed import: who, when, counts, rejections, revert state.
pub(crate) const IMPORTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("imports");

/// Workspace id ‖ import id ‖ sequence (u32 BE) → a record the import created or changed (with
/// its previous version), so the import can be reverted.
pub(crate) const IMPORT_ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("import_items");

/// Key id (u32 BE) → a field-encryption data key, wrapped by a key derived from the master key.
/// Global: one keyring serves every workspace (the associated data of each sealed value names
/// its workspace). The highest id is the current key.
pub(crate) const DATA_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("data_keys");

/// `workspace ‖ file id` → a stored file (its blob's name and sealed key, what it is).
pub(crate) const FILES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("files");

/// `workspace` → bytes its files take (u64 BE), kept with every file stored or deleted so the
/// quota is one read.
pub(crate) const FILE_USAGE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("file_usage");

/// `workspace ‖ kind ‖ record id ‖ file id`: the files attached to a record.
pub(crate) const RECORD_FILES: TableDefinition<&[u8], ()> = TableDefinition::new("record_files");

/// `workspace ‖ company ‖ part byte ‖ id` → one piece of a company's client portal (a shared
/// document, a request, a message, a client's read marks), sealed whole under the keyring.
/// Every key of a company starts with `workspace ‖ company`: a client's reads range over
/// that prefix alone.
pub(crate) const PORTAL: TableDefinition<&[u8], &[u8]> = TableDefinition::new("portal");

/// `workspace ‖ Unix time (u64 BE) ‖ 8 random bytes` → something a client did (uploaded,
/// answered, wrote, acknowledged), for the staff's badge and activity page.
pub(crate) const PORTAL_ACTIVITY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("portal_activity");

/// `workspace ‖ user` → the time (i64 BE) up to which a member has seen the portal activity.
pub(crate) const PORTAL_SEEN: TableDefinition<&[u8], &[u8]> = TableDefinition::new("portal_seen");

/// `time of the next reminder (u64 BE) ‖ workspace ‖ company ‖ request`: the reminder
/// schedule. Global: the scheduler serves every workspace; each key names its workspace.
pub(crate) const PORTAL_DUE: TableDefinition<&[u8], ()> = TableDefinition::new("portal_due");

/// Every table, so the first migration creates them all and tests can walk them.
pub(crate) const ALL_BYTE_TABLES: &[TableDefinition<'static, &'static [u8], &'static [u8]>] = &[
    WORKSPACES,
    USERS,
    SESSIONS,
    API_TOKENS,
    LINKS,
    AUDIT,
    AUDIT_HEADS,
    RECORDS,
    TIMELINE,
    SEARCH_OUTBOX,
    IDEMPOTENCY,
    CRM_SETTINGS,
    TALLIES,
    IMPORT_UPLOADS,
    IMPORTS,
    IMPORT_ITEMS,
    DATA_KEYS,
    FILES,
    FILE_USAGE,
    PORTAL,
    PORTAL_ACTIVITY,
    PORTAL_SEEN,
];

/// Tables keyed by text.
pub(crate) const ALL_TEXT_TABLES: &[TableDefinition<'static, &'static str, &'static [u8]>] =
    &[META, WORKSPACE_NAMES, USER_EMAILS, SETTINGS];

/// Index tables whose value is empty.
pub(crate) const ALL_SET_TABLES: &[TableDefinition<'static, &'static [u8], ()>] =
    &[USER_SESSIONS, USER_TOKENS, RECORD_INDEX, RECORD_FILES, PORTAL_DUE];

/// The `'static` name of a listed table (the op log keeps names by reference).
pub(crate) fn static_name(name: &str) -> &'static str {
    let names = ALL_BYTE_TABLES
        .iter()
        .map(|d| d.name())
        .chain(ALL_TEXT_TABLES.iter().map(|d| d.name()))
        .chain(ALL_SET_TABLES.iter().map(|d| d.name()));
    let found = names.into_iter().find(|listed| *listed == name);
    found.unwrap_or_else(|| panic!("table {name} is written through the op log but not listed in tables.rs"))
}
