//! Authentication and the tenant scope: the only place that decides who a request acts as.
//!
//! Sign-in, sessions, API tokens and reset links each end in a [`TenantScope`] (a firm's
//! member) or a [`ClientScope`] (a portal client). Everything a scope holds is public:
//!
//! ```
//! # use holdfast::app::auth::{ClientScope, SecondFactor, TenantScope};
//! # use holdfast::domain::{ids::{RecordId, UserId, WorkspaceId}, role::Role};
//! let parts = (WorkspaceId::random(), UserId::random(), Role::Owner, SecondFactor::NotEnrolled, RecordId::random());
//! let read = |member: &TenantScope, client: &ClientScope| (*member.workspace(), *client.company());
//! ```
//!
//! yet nothing outside this module can build one from those parts:
//!
//! ```compile_fail,E0624
//! # use holdfast::app::auth::{SecondFactor, TenantScope};
//! # use holdfast::domain::{ids::{UserId, WorkspaceId}, role::Role};
//! let forged = TenantScope::new(WorkspaceId::random(), UserId::random(), Role::Owner, SecondFactor::NotEnrolled, None);
//! ```
//!
//! ```compile_fail,E0624
//! # use holdfast::app::auth::ClientScope;
//! # use holdfast::domain::ids::{RecordId, UserId, WorkspaceId};
//! let forged = ClientScope::new(WorkspaceId::random(), UserId::random(), RecordId::random());
//! ```
//!
//! ```compile_fail,E0451
//! # use holdfast::app::auth::ClientScope;
//! # use holdfast::domain::ids::{RecordId, UserId, WorkspaceId};
//! let forged = ClientScope { workspace: WorkspaceId::random(), user: UserId::random(), company: RecordId::random() };
//! ```

mod account;
mod api_tokens;
pub mod csrf;
pub mod device;
mod links;
mod login;
pub mod mfa;
mod offline;
pub mod password;
pub mod permissions;
mod scope;
mod secrets;
mod sessions;
pub mod setup;
pub mod throttle;

pub use crate::app::store::rows::SessionStage;
pub use account::{Account, ApiTokens};
pub use api_tokens::Tokens;
pub use api_tokens::{ApiTokenView, NewApiToken};
pub use links::Links;
pub(crate) use links::issue_in as links_issue;
pub use links::{IssuedLink, LinkPurpose};
pub use login::{Completed, LoginOutcome};
pub use mfa::Mfa;
pub(crate) use offline::offline_scope;
pub use scope::{ClientScope, SecondFactor, TenantScope};
pub use secrets::SessionToken;
pub use sessions::Sessions;
pub use sessions::{AuthSession, SessionView};
pub use setup::Setup;
pub use throttle::Throttle;

/// Who is making a request, for audit entries and the session list.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

impl ClientInfo {
    /// User agents are shown and audited, so keep them short and single-line.
    pub fn new(ip: impl Into<String>, user_agent: &str) -> Self {
        let user_agent: String = user_agent.chars().filter(|c| !c.is_control()).take(200).collect();
        Self { ip: ip.into(), user_agent }
    }
}
