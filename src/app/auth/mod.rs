//! Authentication and the tenant scope: the only place that decides who a request acts as.

pub mod setup;
