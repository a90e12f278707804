//! The second factor: TOTP enrolment (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step), backup codes,
//! the sign-in step after the password, step-up for sensitive actions, and recovery.
//!
//! Every check runs inside one write transaction, so a code (time step) is accepted once even
//! under concurrent attempts, and failure counters can't be raced past the pause.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::ClientInfo;
use super::permissions::Action;
use super::scope::TenantScope;
use super::sessions::{AuthSession, create_in};
use crate::app::audit::{AuditEvent, record, record_server};
use crate::app::crypto::Sealer;
use crate::app::store::rows::{MfaRecord, SessionRecord, SessionStage, UserRecord};
use crate::app::store::{ServerWrite, WorkspaceWrite};
use crate::domain::email::EmailAddress;
use crate::domain::ids::{UserId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

crate::app::service! {
    /// Second factors: enrolment, sign-in, step-up, backup codes and resets.
    Mfa
}

/// Backup codes issued at enrolment and regeneration.
pub const BACKUP_CODES: usize = 10;
/// The user is told when this few backup codes are left.
const LOW_BACKUP_CODES: usize = 3;
/// Wrong codes in a row before attempts pause.
const MAX_FAILURES: u32 = 5;
const PAUSE_SECONDS: i64 = 15 * 60;
const ISSUER: &str = "Holdfast";

/// What the person typed as their second factor. `Debug` never shows it.
#[derive(Clone)]
pub enum SecondFactorAnswer {
    /// Six digits from the authenticator app.
    Code(String),
    /// One of the `xxxxx-xxxxx` backup codes.
    BackupCode(String),
}

/// What the enrolment page shows. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Enrollment {
    /// The `otpauth://totp/…` URI (also encoded in the QR code).
    pub uri: String,
    /// The secret in base32, for typing into an app by hand.
    pub secret: String,
    /// The QR code as an SVG `data:` URI.
    pub qr: String,
}

impl std::fmt::Debug for SecondFactorAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecondFactorAnswer::Code(_) => "Code(<redacted>)",
            SecondFactorAnswer::BackupCode(_) => "BackupCode(<redacted>)",
        })
    }
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrollment(<redacted>)")
    }
}

fn purpose(workspace: &WorkspaceId, user: &UserId) -> String {
    format!("totp|{workspace}|{user}")
}

fn totp(secret: Vec<u8>, account: &str) -> Result<Totp, AppError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::from(secret))
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| AppError::internal(ErrorCode::Internal, e))
}

fn open_secret(sealer: &Sealer, user: &UserRecord, sealed_hex: &str) -> Result<Vec<u8>, AppError> {
    let sealed = hex::decode(sealed_hex).map_err(|e| AppError::internal(ErrorCode::StorageUnavailable, e))?;
    Ok(sealer.open(&purpose(&user.workspace_id, &user.id), &sealed)?.to_vec())
}

/// Ten lowercase letters and digits, shown as `xxxxx-xxxxx` (~51 bits).
fn new_backup_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let chars: Vec<char> = (0..10).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect();
    format!("{}-{}", chars[..5].iter().collect::<String>(), chars[5..].iter().collect::<String>())
}

/// Backup codes are stored as an HMAC keyed from the master key: a stolen store alone can't be
/// brute-forced offline.
fn backup_hash(key: &[u8; 32], code: &str) -> String {
    let normalised: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(normalised.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The result of checking an answer against an enrolled factor.
enum Check {
    Accepted,
    Wrong,
    /// Too many wrong answers: paused until the given time.
    Paused,
}

/// Checks `answer` for `user` at `now`, updating replay state, backup codes and failure
/// counters in place (the caller saves the user in the same transaction).
fn check_answer(
    sealer: &Sealer,
    backup_key: &[u8; 32],
    user: &mut UserRecord,
    answer: &SecondFactorAnswer,
    now: i64,
) -> Result<Check, AppError> {
    let Some(mfa) = user.mfa.clone() else { return Err(ErrorCode::SecondFactorRequired.into()) };
    if mfa.paused_until > now {
        return Ok(Check::Paused);
    }
    let accepted = match answer {
        SecondFactorAnswer::Code(code) => {
            let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
            let secret = open_secret(sealer, user, &mfa.secret_sealed)?;
            let step = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
                totp(secret, user.email.as_str())?.check(&code, u64::try_from(now).unwrap_or(0))
            } else {
                None
            };
            match step {
                Some(step) if step > mfa.last_step => {
                    if let Some(m) = user.mfa.as_mut() {
                        m.last_step = step;
                    }
                    true
                }
                _ => false,
            }
        }
        SecondFactorAnswer::BackupCode(code) => {
            let hash = backup_hash(backup_key, code);
            let m = user.mfa.as_mut().expect("checked above");
            match m.backup_codes.iter().position(|h| *h == hash) {
                Some(index) => {
                    m.backup_codes.remove(index);
                    true
                }
                None => false,
            }
        }
    };
    let m = user.mfa.as_mut().expect("checked above");
    if accepted {
        m.failures = 0;
        return Ok(Check::Accepted);
    }
    m.failures += 1;
    if m.failures >= MAX_FAILURES {
        m.failures = 0;
        m.paused_until = now + PAUSE_SECONDS;
        return Ok(Check::Paused);
    }
    Ok(Check::Wrong)
}

fn load_user(txn: &ServerWrite<'_>, scope: &TenantScope) -> Result<UserRecord, AppError> {
    txn.user(scope.workspace(), scope.user())?.ok_or_else(|| ErrorCode::SessionExpired.into())
}

/// [`load_user`] in a transaction of the user's workspace.
fn load_own_user(txn: &WorkspaceWrite<'_>, scope: &TenantScope) -> Result<UserRecord, AppError> {
    txn.user(scope.user())?.ok_or_else(|| ErrorCode::SessionExpired.into())
}

fn session_of(txn: &ServerWrite<'_>, hash: &[u8; 32]) -> Result<SessionRecord, AppError> {
    txn.session(hash)?.ok_or_else(|| ErrorCode::SessionExpired.into())
}

impl Mfa<'_> {
    fn backup_key(&self) -> zeroize::Zeroizing<[u8; 32]> {
        self.master_key().derive("holdfast/backup-codes/v1")
    }

    /// The secret to enrol (created on first visit, kept until confirmed so a page reload
    /// doesn't invalidate a QR code already scanned).
    pub async fn enrollment(&self, session: &AuthSession) -> Result<Enrollment, AppError> {
        let (scope, sealer) = (session.scope.clone(), self.sealer().clone());
        let (secret, email) = self
            .store()
            .workspace(&session.scope)
            .write(move |txn| {
                let mut user = load_own_user(txn, &scope)?;
                if let Some(sealed) = &user.mfa_pending {
                    return Ok((open_secret(&sealer, &user, sealed)?, user.email.to_string()));
                }
                let secret: [u8; 20] = rand::random();
                let sealed = sealer.seal(&purpose(&user.workspace_id, &user.id), &secret)?;
                user.mfa_pending = Some(hex::encode(sealed));
                txn.update_user(&user)?;
                Ok((secret.to_vec(), user.email.to_string()))
            })
            .await?;
        let totp = totp(secret, &email)?;
        let uri = totp.to_url().map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
        let svg = qrcode::QrCode::new(uri.as_bytes())
            .map_err(|e| AppError::internal(ErrorCode::Internal, e))?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(220, 220)
            .build();
        let qr = format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg));
        Ok(Enrollment { uri, secret: totp.secret().to_base32(), qr })
    }

    /// Confirms enrolment with a code from the app; returns the backup codes (shown once) and
    /// completes the session if it was waiting for enrolment.
    pub async fn confirm_enrollment(
        &self,
        session: &AuthSession,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AppError> {
        let (scope, sealer, hash, now, client) =
            (session.scope.clone(), self.sealer().clone(), session.hash(), self.now(), client.clone());
        let backup_key = self.backup_key();
        let codes: Vec<String> = (0..BACKUP_CODES).map(|_| new_backup_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| backup_hash(&backup_key, c)).collect();
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let email = self
            .store()
            .write(move |txn| {
                let mut user = load_user(txn, &scope)?;
                let sealed = user.mfa_pending.clone().ok_or(ErrorCode::WrongCode)?;
                let secret = open_secret(&sealer, &user, &sealed)?;
                let step = totp(secret, user.email.as_str())?
                    .check(&code, u64::try_from(now).unwrap_or(0))
                    .ok_or_else(|| AppError::field(ErrorCode::WrongCode, "code"))?;
                user.mfa = Some(MfaRecord {
                    secret_sealed: sealed,
                    enabled_at: now,
                    last_step: step,
                    backup_codes: hashes,
                    failures: 0,
                    paused_until: 0,
                });
                user.mfa_pending = None;
                txn.update_user(&user)?;
                let mut current = session_of(txn, &hash)?;
                current.stage = SessionStage::Full;
                current.mfa_at = Some(now);
                txn.update_session(&hash, &current)?;
                record_server(
                    txn,
                    scope.workspace(),
                    now,
                    AuditEvent::new("mfa.enabled", Some(*scope.user())).from_client(&client),
                )?;
                Ok(user.email)
            })
            .await?;
        self.notify(email, "Two-step sign-in is on", "Two-step sign-in was turned on for your Holdfast account.");
        Ok(codes)
    }

    /// The step after the password: checks the answer for a pending session and replaces it
    /// with a full one. Five wrong answers pause attempts for 15 minutes (E1007).
    pub async fn complete_sign_in(
        &self,
        session: &AuthSession,
        answer: SecondFactorAnswer,
        client: &ClientInfo,
    ) -> Result<super::login::Completed, AppError> {
        if session.stage != SessionStage::PendingMfa {
            return Err(ErrorCode::SessionExpired.into());
        }
        if self.throttle().attempt_blocked(client, None).is_some() {
            return Err(ErrorCode::TooManySignInFailures.into());
        }
        let (scope, sealer, hash, now, owned_client) =
            (session.scope.clone(), self.sealer().clone(), session.hash(), self.now(), client.clone());
        let backup_key = self.backup_key();
        let (outcome, remaining, email, epoch) = self
            .store()
            .write(move |txn| {
                let mut user = load_user(txn, &scope)?;
                let outcome = check_answer(&sealer, &backup_key, &mut user, &answer, now)?;
                txn.update_user(&user)?;
                let remaining = user.mfa.as_ref().map_or(0, |m| m.backup_codes.len());
                let token = match outcome {
                    Check::Accepted => {
                        txn.delete_session(&hash)?;
                        let token = create_in(txn, &user, &owned_client, now, SessionStage::Full, Some(now))?;
                        let method = match answer {
                            SecondFactorAnswer::Code(_) => "totp",
                            SecondFactorAnswer::BackupCode(_) => "backup_code",
                        };
                        let event =
                            AuditEvent::new("auth.sign_in", Some(user.id)).fields(&[method]).from_client(&owned_client);
                        record_server(txn, scope.workspace(), now, event)?;
                        Some(token)
                    }
                    Check::Wrong => {
                        let event = AuditEvent::new("mfa.failed", Some(user.id)).from_client(&owned_client).failed();
                        record_server(txn, scope.workspace(), now, event)?;
                        None
                    }
                    Check::Paused => {
                        let event = AuditEvent::new("mfa.paused", Some(user.id)).from_client(&owned_client).failed();
                        record_server(txn, scope.workspace(), now, event)?;
                        None
                    }
                };
                let epoch = user.password_hash.clone().unwrap_or_default();
                Ok((token.ok_or(matches!(outcome, Check::Paused)), remaining, user.email, epoch))
            })
            .await?;
        if outcome.is_err() {
            self.throttle().attempt_failed(client, None);
        }
        match outcome {
            Ok(token) => {
                if remaining <= LOW_BACKUP_CODES {
                    self.notify(email, "Few backup codes left", "Only a few backup codes are left for your Holdfast account. Create new ones on your account page.");
                }
                let device = self.device_key().issue(session.scope.user(), &epoch);
                Ok(super::login::Completed { session: token, device })
            }
            Err(true) => Err(ErrorCode::TooManySignInFailures.into()),
            Err(false) => Err(AppError::field(ErrorCode::WrongCode, "code")),
        }
    }

    /// Step-up: re-checks the second factor in a full session before a sensitive action.
    pub async fn step_up(
        &self,
        session: &AuthSession,
        answer: SecondFactorAnswer,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let (scope, sealer, hash, now, client) =
            (session.scope.clone(), self.sealer().clone(), session.hash(), self.now(), client.clone());
        let backup_key = self.backup_key();
        let outcome = self
            .store()
            .write(move |txn| {
                let mut user = load_user(txn, &scope)?;
                let outcome = check_answer(&sealer, &backup_key, &mut user, &answer, now)?;
                txn.update_user(&user)?;
                if let Check::Accepted = outcome {
                    let mut current = session_of(txn, &hash)?;
                    current.mfa_at = Some(now);
                    txn.update_session(&hash, &current)?;
                }
                let (event, failed) = match outcome {
                    Check::Accepted => ("mfa.step_up", false),
                    Check::Wrong => ("mfa.failed", true),
                    Check::Paused => ("mfa.paused", true),
                };
                let mut entry = AuditEvent::new(event, Some(user.id)).from_client(&client);
                if failed {
                    entry = entry.failed();
                }
                record_server(txn, scope.workspace(), now, entry)?;
                Ok(outcome)
            })
            .await?;
        match outcome {
            Check::Accepted => Ok(()),
            Check::Wrong => Err(AppError::field(ErrorCode::WrongCode, "code")),
            Check::Paused => Err(ErrorCode::TooManySignInFailures.into()),
        }
    }

    /// New backup codes (the old ones stop working); needs a recent second factor.
    pub async fn regenerate_backup_codes(
        &self,
        session: &AuthSession,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AppError> {
        session.scope.require_recent_second_factor(self.now())?;
        let backup_key = self.backup_key();
        let codes: Vec<String> = (0..BACKUP_CODES).map(|_| new_backup_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| backup_hash(&backup_key, c)).collect();
        let (scope, now, client) = (session.scope.clone(), self.now(), client.clone());
        self.store()
            .workspace(&session.scope)
            .write(move |txn| {
                let mut user = load_own_user(txn, &scope)?;
                let mfa = user.mfa.as_mut().ok_or(ErrorCode::SecondFactorRequired)?;
                mfa.backup_codes = hashes;
                txn.update_user(&user)?;
                record(
                    txn,
                    now,
                    AuditEvent::new("mfa.backup_codes_regenerated", Some(*scope.user())).from_client(&client),
                )
            })
            .await?;
        Ok(codes)
    }

    /// Turns off one's own second factor: only when the role doesn't require it, and after a
    /// recent check.
    pub async fn disable_own(&self, session: &AuthSession, client: &ClientInfo) -> Result<(), AppError> {
        if self.security_policy().requires_mfa(session.scope.role()) {
            return Err(ErrorCode::Forbidden.into());
        }
        self.remove_own_mfa(session, client, "mfa.disabled").await?;
        self.notify_session(
            session,
            "Two-step sign-in is off",
            "Two-step sign-in was turned off for your Holdfast account.",
        );
        Ok(())
    }

    /// Replaces one's own authenticator (new phone, or signed in with a backup code after
    /// losing it): needs a recent second factor; enrolment starts again right away.
    pub async fn replace_own(&self, session: &AuthSession, client: &ClientInfo) -> Result<(), AppError> {
        self.remove_own_mfa(session, client, "mfa.replaced").await?;
        self.notify_session(
            session,
            "Authenticator replaced",
            "The authenticator for your Holdfast account is being replaced.",
        );
        Ok(())
    }

    /// Removes the signed-in user's enrolled factor after a recent check, audited as `event`.
    async fn remove_own_mfa(
        &self,
        session: &AuthSession,
        client: &ClientInfo,
        event: &'static str,
    ) -> Result<(), AppError> {
        session.scope.require_recent_second_factor(self.now())?;
        let (scope, now, client) = (session.scope.clone(), self.now(), client.clone());
        self.store()
            .workspace(&session.scope)
            .write(move |txn| {
                let mut user = load_own_user(txn, &scope)?;
                user.mfa.take().ok_or(ErrorCode::SecondFactorRequired)?;
                user.mfa_pending = None;
                txn.update_user(&user)?;
                record(txn, now, AuditEvent::new(event, Some(*scope.user())).from_client(&client))
            })
            .await
    }

    /// An admin resets another user's second factor (lost phone): the user's sessions end and
    /// they enrol again at their next sign-in. Nobody resets their own this way.
    pub async fn reset(&self, admin: &TenantScope, user: UserId, client: &ClientInfo) -> Result<(), AppError> {
        admin.require(Action::ManageUsers)?;
        admin.require_recent_second_factor(self.now())?;
        if *admin.user() == user {
            return Err(ErrorCode::Forbidden.into());
        }
        let (scope, now, client) = (admin.clone(), self.now(), client.clone());
        let email = self
            .store()
            .workspace(admin)
            .write(move |txn| {
                let mut target = txn.user(&user)?.ok_or(ErrorCode::NotFound)?;
                // Resetting a factor prepares a takeover: only owners may do it to owners.
                crate::app::users::check_role_change(&scope, Some(target.role), target.role)?;
                target.mfa = None;
                target.mfa_pending = None;
                txn.update_user(&target)?;
                txn.delete_sessions_of(&target.id)?;
                record(
                    txn,
                    now,
                    AuditEvent::new("mfa.reset", Some(*scope.user())).target(target.id).from_client(&client),
                )?;
                Ok(target.email)
            })
            .await?;
        self.notify(email, "Two-step sign-in was reset", "An administrator reset two-step sign-in for your Holdfast account. You will set it up again at your next sign-in.");
        Ok(())
    }

    /// How many backup codes the signed-in user has left (None without MFA).
    pub async fn backup_codes_left(&self, session: &AuthSession) -> Result<Option<usize>, AppError> {
        let me = *session.scope.user();
        let user = self.store().workspace(&session.scope).read(move |txn| txn.user(&me)).await?;
        Ok(user.and_then(|u| u.mfa).map(|m| m.backup_codes.len()))
    }

    fn notify_session(&self, session: &AuthSession, subject: &'static str, text: &str) {
        if let Ok(to) = EmailAddress::parse(&session.email) {
            self.notify(to, subject, text);
        }
    }

    fn notify(&self, to: EmailAddress, subject: &'static str, text: &str) {
        self.email().send_in_background(
            to,
            subject,
            format!("{text}\n\nIf this wasn't you, tell your administrator at once.\n"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_codes_have_the_contract_shape_and_hash_independently_of_formatting() {
        let code = new_backup_code();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        assert!(code.chars().all(|c| c == '-' || c.is_ascii_lowercase() || c.is_ascii_digit()));
        let key = [7u8; 32];
        assert_eq!(backup_hash(&key, &code), backup_hash(&key, &code.to_uppercase().replace('-', " ")));
        assert_ne!(backup_hash(&key, &code), backup_hash(&[8u8; 32], &code));
    }

    #[test]
    fn rfc6238_test_vector_sha1() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s → 94287082 (8 digits);
        // the 6-digit code is the last six digits.
        let totp = totp(b"12345678901234567890".to_vec(), "test@example.com").unwrap();
        assert_eq!(totp.generate(59).to_string(), "287082");
        assert_eq!(totp.generate(1111111109).to_string(), "081804");
    }
}
