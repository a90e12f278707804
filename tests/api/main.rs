//! The one integration-test binary: every test drives a real server over HTTPS (or the real
//! `holdfast` binary) the way a browser, script or operator would.

mod acme;
mod audit;
mod backup;
mod binary;
mod browser;
mod crm_api;
mod crm_bulk;
mod crm_dashboard;
mod crm_html;
mod crm_io;
mod crm_record;
mod csrf;
mod disk_full;
mod email;
mod files;
mod files_crash;
mod foundation;
mod helpers;
mod identity;
mod limits;
mod logs;
mod metrics;
mod mfa;
mod offline;
mod offsite;
mod portal;
mod privacy;
mod search;
mod search_crash;
mod smtp_sink;
mod upgrade;
