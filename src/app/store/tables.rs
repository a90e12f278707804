//! Every table of the store, in one list. Keys of tenant-owned tables begin with the 16 bytes
//! of the workspace id; the few global tables are the ones that *find* a tenant (by name,
//! email or session) and say so here.

use redb::TableDefinition;

/// Store metadata: `schema_version` and other single values. Global.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Workspace id → workspace. The key is the tenant id itself.
pub(crate) const WORKSPACES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("workspaces");

/// Normalised workspace name → workspace id. Global: names are unique across the server.
pub(crate) const WORKSPACE_NAMES: TableDefinition<&str, &[u8]> = TableDefinition::new("workspace_names");

/// Workspace id ‖ user id → user.
pub(crate) const USERS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("users");

/// Every table, so the first migration creates them all and tests can walk them.
pub(crate) const ALL_BYTE_TABLES: &[TableDefinition<'static, &'static [u8], &'static [u8]>] = &[WORKSPACES, USERS];

/// Tables keyed by text.
pub(crate) const ALL_TEXT_TABLES: &[TableDefinition<'static, &'static str, &'static [u8]>] = &[META, WORKSPACE_NAMES];
