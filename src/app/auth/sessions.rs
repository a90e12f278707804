//! Server-side sessions: created at sign-in, looked up by the hash of the cookie value, expired
//! by the idle and absolute limits of the security policy, listed and revoked by their owner.

use super::ClientInfo;
use super::csrf::CsrfBinding;
use super::permissions::Action;
use super::scope::{ClientScope, SecondFactor, TenantScope};
use super::secrets::SessionToken;
use crate::app::audit::{AuditEvent, record};
use crate::app::store::ServerWrite;
use crate::app::store::rows::{SessionRecord, SessionStage, UserRecord};
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Signing in and out, and the sessions a member holds.
    Sessions
}

/// `last_seen` is written at most this often (seconds), so reads don't each cost a commit.
const TOUCH_INTERVAL: i64 = 60;
/// The navigation badge counts unseen client activity up to this many.
pub const UNSEEN_SHOWN: usize = 99;
/// A session waiting for its second factor (or first enrolment) lasts this long.
pub const PENDING_SECONDS: i64 = 5 * 60;

/// A verified session: who the request acts as.
#[derive(Debug, Clone)]
pub struct AuthSession {
    /// Who acts. A client's scope has the `client` role, which allows nothing of the firm's;
    /// their portal works with `client` instead.
    pub scope: TenantScope,
    /// Set for a client of the firm: the one company whose portal they reach. The web layer
    /// answers such a session 404 on every page outside the portal.
    pub client: Option<ClientScope>,
    /// Client activity this member has not seen yet (at most [`UNSEEN_SHOWN`]), for the badge.
    pub portal_unseen: usize,
    /// Whether this member's browser may keep pages to read offline (the workspace's setting).
    pub offline_reading: bool,
    pub user_name: String,
    pub email: String,
    pub stage: SessionStage,
    /// Whether the user has a second factor enrolled.
    pub mfa_enrolled: bool,
    hash: [u8; 32],
}

impl AuthSession {
    pub(super) fn hash(&self) -> [u8; 32] {
        self.hash
    }

    pub fn csrf_binding(&self) -> CsrfBinding {
        CsrfBinding::Session(self.hash)
    }

    /// A public id for this session (not the cookie value, and not enough to forge it).
    pub fn id(&self) -> String {
        public_id(&self.hash)
    }
}

fn public_id(hash: &[u8; 32]) -> String {
    hex::encode(&hash[..16])
}

/// One row of "your sessions".
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: String,
    pub created_at: i64,
    pub last_seen: i64,
    pub ip: String,
    pub user_agent: String,
    pub current: bool,
}

/// Creates a session for `user` inside `txn` and returns the token for the cookie.
pub(super) fn create_in(
    txn: &ServerWrite<'_>,
    user: &UserRecord,
    client: &ClientInfo,
    now: i64,
    stage: SessionStage,
    mfa_at: Option<i64>,
) -> Result<SessionToken, AppError> {
    let token = SessionToken::generate();
    let record = SessionRecord {
        workspace_id: user.workspace_id,
        user_id: user.id,
        created_at: now,
        last_seen: now,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        stage,
        mfa_at,
    };
    txn.insert_session(&token.hash(), &record)?;
    Ok(token)
}

impl Sessions<'_> {
    /// The session for a cookie value, if it exists, is within its limits and its user is
    /// active. Expired sessions are deleted on sight.
    pub async fn resolve(&self, token: &SessionToken) -> Result<Option<AuthSession>, AppError> {
        let hash = token.hash();
        let now = self.now();
        let policy = self.security_policy();
        let found = self.store().read_now(|txn| {
            let Some(session) = txn.session(&hash)? else { return Ok(None) };
            let user = txn.user(&session.workspace_id, &session.user_id)?;
            let home = txn.home_workspace()?;
            Ok(Some((session, user, home)))
        })?;
        let Some((mut session, user, home)) = found else { return Ok(None) };
        let idle = now - session.last_seen > i64::from(policy.session_idle_minutes) * 60;
        let lifetime = match session.stage {
            SessionStage::Full => i64::from(policy.session_absolute_hours) * 3600,
            SessionStage::PendingMfa | SessionStage::MustEnroll => PENDING_SECONDS,
        };
        let too_old = now - session.created_at > lifetime;
        let user = match user {
            Some(user) if !user.disabled && !idle && !too_old => user,
            _ => {
                self.store().write(move |txn| txn.delete_session(&hash).map(|_| ())).await?;
                return Ok(None);
            }
        };
        if now - session.last_seen >= TOUCH_INTERVAL {
            session.last_seen = now;
            let stored = session.clone();
            // A stamp that can't be written (a full disk) never signs anyone out.
            if let Err(e) = self.store().write(move |txn| txn.update_session(&hash, &stored)).await {
                tracing::warn!(code = %e.code(), "a session's last-seen time was not saved");
            }
        }
        let second_factor = match (&user.mfa, session.mfa_at) {
            (None, _) => SecondFactor::NotEnrolled,
            (Some(_), Some(at)) => SecondFactor::CheckedAt(at),
            (Some(_), None) => SecondFactor::NotChecked,
        };
        // A role that requires MFA never works without it: a full session of a user with no
        // factor (reset, replaced, or the policy tightened) may only enrol.
        let stage = match session.stage {
            SessionStage::Full if user.mfa.is_none() && policy.requires_mfa(user.role) => SessionStage::MustEnroll,
            stage => stage,
        };
        let client = match (user.role, user.company) {
            (Role::Client, Some(company)) => Some(ClientScope::new(user.workspace_id, user.id, company)),
            (Role::Client, None) => return Ok(None),
            _ => None,
        };
        let scope = TenantScope::new(user.workspace_id, user.id, user.role, second_factor, home);
        let (portal_unseen, offline_reading) = if stage == SessionStage::Full && scope.can(Action::ReadRecords) {
            self.store().workspace(&scope).read_now(|txn| {
                let seen = txn.portal_seen(scope.user())?;
                Ok((txn.portal_activity(seen, UNSEEN_SHOWN)?.len(), crate::app::offline::enabled_in(txn)?))
            })?
        } else {
            (0, false)
        };
        Ok(Some(AuthSession {
            scope,
            client,
            portal_unseen,
            offline_reading,
            user_name: user.name,
            email: user.email.to_string(),
            stage,
            mfa_enrolled: user.mfa.is_some(),
            hash,
        }))
    }

    /// Deletes the session (sign-out).
    pub async fn sign_out(&self, session: &AuthSession, client: &ClientInfo) -> Result<(), AppError> {
        let (hash, scope, now) = (session.hash, session.scope.clone(), self.now());
        let event = AuditEvent::new("auth.sign_out", Some(*scope.user())).from_client(client);
        self.store()
            .workspace(&session.scope)
            .write(move |txn| {
                txn.delete_session_of(scope.user(), &hash)?;
                record(txn, now, event)
            })
            .await
    }

    /// The signed-in user's sessions, newest activity first.
    pub async fn list(&self, session: &AuthSession) -> Result<Vec<SessionView>, AppError> {
        let (current, user) = (session.hash, *session.scope.user());
        let sessions = self.store().workspace(&session.scope).read(move |txn| txn.sessions_of(&user)).await?;
        let mut views: Vec<SessionView> = sessions
            .into_iter()
            .map(|(hash, s)| SessionView {
                id: public_id(&hash),
                created_at: s.created_at,
                last_seen: s.last_seen,
                ip: s.ip,
                user_agent: s.user_agent,
                current: hash == current,
            })
            .collect();
        views.sort_by_key(|v| std::cmp::Reverse(v.last_seen));
        Ok(views)
    }

    /// Revokes one of the signed-in user's own sessions by its public id.
    pub async fn revoke(&self, session: &AuthSession, id: &str, client: &ClientInfo) -> Result<(), AppError> {
        let (scope, id, now) = (session.scope.clone(), id.to_owned(), self.now());
        let event = AuditEvent::new("auth.session_revoked", Some(*scope.user())).from_client(client);
        self.store()
            .workspace(&session.scope)
            .write(move |txn| {
                let sessions = txn.sessions_of(scope.user())?;
                let (hash, _) = sessions.into_iter().find(|(h, _)| public_id(h) == id).ok_or(ErrorCode::NotFound)?;
                txn.delete_session_of(scope.user(), &hash)?;
                record(txn, now, event)
            })
            .await
    }
}
