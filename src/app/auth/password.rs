//! Passwords: argon2id hashing on the blocking pool with a cap on concurrent hashes, and the
//! policy for new passwords (length, strength, context words, reuse).

use std::sync::{Arc, LazyLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;

use crate::app::error::{AppError, ErrorCode};
use crate::app::policy::{PASSWORD_MAX_LENGTH, SecurityPolicy};

/// OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
/// Hashes made with other parameters are upgraded at the next sign-in.
const CURRENT_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";
/// How many earlier passwords can't be reused (the current one included).
pub const HISTORY: usize = 5;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Verifies against this when the account doesn't exist, so unknown emails cost the same time.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| argon2().hash_password(&rand::random::<[u8; 16]>()).map(|h| h.to_string()).unwrap_or_default());

/// Passwords are compared after NFKC normalisation, the same on set and on verify.
fn normalise(password: &SecretString) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(password.expose_secret().nfkc().collect())
}

/// Runs argon2 on the blocking pool, at most `permits` at a time: a flood of sign-ins queues
/// instead of exhausting memory (19 MiB each) or the async executor.
#[derive(Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
}

impl PasswordHasherPool {
    pub fn new(concurrent: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(concurrent.max(1))) }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let _permit = self.permits.acquire().await.map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| AppError::internal(ErrorCode::Internal, e))
    }

    pub async fn hash(&self, password: &SecretString) -> Result<String, AppError> {
        let normalised = normalise(password);
        self.run(move || argon2().hash_password(normalised.as_bytes()).map(|h| h.to_string()))
            .await?
            .map_err(|e| AppError::internal(ErrorCode::Internal, e))
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is none.
    pub async fn verify(&self, password: &SecretString, hash: Option<String>) -> Result<bool, AppError> {
        let normalised = normalise(password);
        self.run(move || {
            let (hash, real) = match hash {
                Some(hash) => (hash, true),
                None => (DUMMY_HASH.clone(), false),
            };
            real && argon2().verify_password(normalised.as_bytes(), hash.as_str()).is_ok()
        })
        .await
    }

    /// Whether `password` matches any of `hashes` (reuse check).
    pub async fn matches_any(&self, password: &SecretString, hashes: Vec<String>) -> Result<bool, AppError> {
        let normalised = normalise(password);
        self.run(move || {
            hashes.iter().any(|hash| argon2().verify_password(normalised.as_bytes(), hash.as_str()).is_ok())
        })
        .await
    }
}

/// Whether a stored hash should be redone with the current parameters.
pub fn needs_rehash(hash: &str) -> bool {
    !hash.starts_with(CURRENT_PREFIX)
}

/// Checks a new password against the policy: length in code points, not built from the
/// user's own details, and not weak or common (zxcvbn score ≥ 3). No composition rules.
pub fn check_new_password(password: &SecretString, policy: &SecurityPolicy, context: &[&str]) -> Result<(), AppError> {
    let text = normalise(password);
    let length = text.chars().count();
    if length > PASSWORD_MAX_LENGTH {
        return Err(AppError::field(ErrorCode::TooLong, "password"));
    }
    if length < policy.password_min_length as usize {
        return Err(AppError::field(ErrorCode::WeakPassword, "password"));
    }
    let lower = text.to_lowercase();
    let mut words: Vec<String> = vec!["holdfast".into()];
    for item in context {
        let item = item.to_lowercase();
        let local = item.split('@').next().unwrap_or_default().to_owned();
        words.push(local.chars().filter(|c| c.is_alphanumeric()).collect());
        words.extend(item.split(|c: char| !c.is_alphanumeric()).map(str::to_owned));
        words.push(local);
        words.push(item);
    }
    if words.iter().any(|word| word.chars().count() >= 4 && lower.contains(word.as_str())) {
        return Err(AppError::field(ErrorCode::WeakPassword, "password"));
    }
    let inputs: Vec<&str> = context.to_vec();
    if zxcvbn::zxcvbn(&text, &inputs).score() < zxcvbn::Score::Three {
        return Err(AppError::field(ErrorCode::WeakPassword, "password"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn policy_rejects_short_common_and_personal_passwords() {
        let policy = SecurityPolicy::default();
        let ctx = ["ann.lee@example.com", "Ann Lee", "Acme Ltd"];
        for weak in ["short", "password1234", "aaaaaaaaaaaaaaaa", "ann.lee-2024-secret!", "acme ltd forever 12"] {
            assert_eq!(
                check_new_password(&secret(weak), &policy, &ctx).unwrap_err().code(),
                ErrorCode::WeakPassword,
                "{weak}"
            );
        }
        assert!(check_new_password(&secret("correct horse battery staple"), &policy, &ctx).is_ok());
        let random_like = |n: usize| -> String {
            let alphabet = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
            (0..n).map(|i| alphabet[(i * 7919 + i * i * 31) % alphabet.len()] as char).collect()
        };
        assert!(check_new_password(&secret(&random_like(256)), &policy, &ctx).is_ok(), "256 code points are accepted");
        let too_long = check_new_password(&secret(&random_like(257)), &policy, &ctx);
        assert_eq!(too_long.unwrap_err().code(), ErrorCode::TooLong);
    }

    #[tokio::test]
    async fn hashes_verify_exactly_as_typed() {
        let pool = PasswordHasherPool::new(2);
        let hash = pool.hash(&secret("Tr0ub4dor&3 extra words")).await.unwrap();
        assert!(hash.starts_with(CURRENT_PREFIX) && !needs_rehash(&hash));
        assert!(pool.verify(&secret("Tr0ub4dor&3 extra words"), Some(hash.clone())).await.unwrap());
        for wrong in ["Tr0ub4dor&3 extra word", "tr0ub4dor&3 extra words", "TR0UB4DOR&3 EXTRA WORDS"] {
            assert!(!pool.verify(&secret(wrong), Some(hash.clone())).await.unwrap(), "{wrong}");
        }
        assert!(!pool.verify(&secret("anything"), None).await.unwrap());
        // NFKC: the full-width form of a letter equals the letter.
        let h2 = pool.hash(&secret("ｆull width pass phrase")).await.unwrap();
        assert!(pool.verify(&secret("full width pass phrase"), Some(h2)).await.unwrap());
    }
}
