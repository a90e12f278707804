//! Holdfast: a CRM and client portal for small firms that runs as one binary on one server.
//!
//! A tour of the modules, outside in:
//! - [`cli`]: the `holdfast` commands (serve, check-config, admin, …).
//! - [`config`]: bootstrap configuration from file, `HOLDFAST_*` environment and flags.
//! - [`datadir`]: the data directory, its lock and the master key.
//! - [`startup`]: opens the store, binds the listeners and runs the server.
//! - [`tls`]: rustls configuration, the self-signed certificate and certificate reloads.
//! - [`web`]: the HTTP surface: the layer stack, extractors, HTML pages and the JSON API.
//! - [`app`]: everything transport-free: services, auth, the store, the clock and errors.
//! - [`domain`]: pure value types (ids, roles, parsed inputs).
//! - [`error`]: the coded error every layer answers with.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod datadir;
pub mod domain;
pub mod error;
pub mod startup;
pub mod telemetry;
pub mod tls;
pub mod web;
