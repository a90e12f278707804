//! Holdfast: a CRM and client portal for small firms that runs as one binary on one server.
//!
//! # Where things are
//!
//! A request goes down, never up: [`web`] → [`app`] services → the store inside [`app`];
//! [`domain`] and [`error`] sit below all of them and depend on none.
//!
//! - [`web`]: the HTTP surface. Every path is written out literally in one of three route
//!   tables: `web/html/mod.rs` (accounts, settings), `web/html/crm/mod.rs` (CRM pages) and
//!   `web/api/mod.rs` (`/api/v1`). A route names its handler; a handler parses the request
//!   into typed values (a [`app::crm::ListQuery`], a record input), calls one service and
//!   renders a template or JSON.
//! - [`app`]: everything transport-free. [`app::App`] holds what the services share (store,
//!   clock, keys, policies) and hands out one service per resource: `app.records()`,
//!   `app.imports()`, `app.users()`, `app.sessions()`, `app.search()`, `app.backups()`, … —
//!   each accessor's return type names the module its methods live in (`records()` →
//!   `app::crm::records`). [`app::auth`] is the only place a [`app::auth::TenantScope`] or
//!   [`app::auth::ClientScope`] is made.
//! - `app::store` (private): redb. Services reach rows only through
//!   [`app::Store::workspace`] (built from a scope; its transactions see one workspace) or the
//!   server-wide handle (sign-in, sessions, settings, audit chains). Repository methods live
//!   beside their tables: `store/crm.rs`, `identity.rs`, `imports.rs`, `audit.rs`, …
//! - [`domain`]: value types and parsing (ids, records, fields, time formatting).
//! - [`error`]: the coded error every layer answers with (`docs/errors.md`).
//! - [`cli`], [`config`], [`datadir`], [`startup`], [`tls`], [`telemetry`]: the binary around
//!   them.
//!
//! So the contacts list is two hops from its path: `"/contacts"` in `web/html/crm/mod.rs`
//! names `list::list::<Contact>`, which calls `app.records().rows(…)` in
//! `app/crm/records.rs`, which reads through `store.workspace(scope)` into `store/crm.rs`.
//! ARCHITECTURE.md follows one request end to end and lists the rules the compiler enforces.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod datadir;
pub mod domain;
pub mod error;
mod service_manager;
pub mod startup;
pub mod telemetry;
pub mod tls;
pub mod web;
