//! The browser suite: journeys driven through a real Chromium over WebDriver (Debian's
//! `chromium` + `chromium-driver`), against a real server. Every page a journey visits is checked
//! with axe-core (no serious or critical violation) and for Content-Security-Policy violations
//! (none). Without a browser the suite says so loudly and skips; with `CI=true` it fails.

mod crm;
mod csv;
mod details;
mod drafts;
mod driver;
mod files;
mod finding;
mod first_run;
mod journeys;
mod lists;
mod notes;
mod offline;
mod page;
mod palette;
mod passwords;
mod people;
mod portal;
mod records;
mod settings;
mod shell;
mod speed;

pub use page::{Page, finish, in_browser};
