//! Passwords: argon2id hashing on the blocking pool with a cap on concurrent hashes, and the
//! policy for new passwords (length, strength, context words, reuse).

use std::sync::{Arc, LazyLock};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

use crate::app::policy::{PASSWORD_MAX_LENGTH, SecurityPolicy};
use crate::error::{AppError, ErrorCode};

/// OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
/// Hashes made with other parameters are upgraded at the next sign-in.
const CURRENT_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// Salt and output lengths of new hashes.
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// A parsed argon2id PHC string: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
struct Phc {
    memory: u32,
    passes: u32,
    lanes: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Phc {
    fn parse(text: &str) -> Option<Phc> {
        let mut parts = text.split('$');
        let (Some(""), Some("argon2id"), Some("v=19"), Some(params), Some(salt), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let mut values = [None; 3];
        for pair in params.split(',') {
            let (key, value) = pair.split_once('=')?;
            let slot = match key {
                "m" => 0,
                "t" => 1,
                "p" => 2,
                _ => return None,
            };
            values[slot] = Some(value.parse().ok()?);
        }
        Some(Phc {
            memory: values[0]?,
            passes: values[1]?,
            lanes: values[2]?,
            salt: STANDARD_NO_PAD.decode(salt).ok()?,
            hash: STANDARD_NO_PAD.decode(hash).ok()?,
        })
    }

    fn format(&self) -> String {
        format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            self.memory,
            self.passes,
            self.lanes,
            STANDARD_NO_PAD.encode(&self.salt),
            STANDARD_NO_PAD.encode(&self.hash)
        )
    }

    /// argon2id of `password` with this entry's parameters and salt, into `out`, using
    /// `blocks` as working memory when it is large enough.
    fn compute(&self, password: &[u8], out: &mut [u8], blocks: &mut [Block]) -> Option<()> {
        let params = Params::new(self.memory, self.passes, self.lanes, Some(out.len())).ok()?;
        let needed = params.block_count();
        if blocks.len() < needed {
            // Only for hashes made with larger parameters than ours (upgraded at sign-in).
            let mut larger = vec![Block::default(); needed];
            return Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into_with_memory(password, &self.salt, out, &mut larger[..])
                .ok();
        }
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into_with_memory(password, &self.salt, out, &mut blocks[..needed])
            .ok()
    }
}

/// A new hash with the current parameters and a fresh salt.
fn hash_with(password: &[u8], blocks: &mut [Block]) -> Option<String> {
    let mut phc = Phc {
        memory: MEMORY_KIB,
        passes: PASSES,
        lanes: LANES,
        salt: rand::random::<[u8; SALT_LEN]>().to_vec(),
        hash: vec![0; OUTPUT_LEN],
    };
    let mut out = [0u8; OUTPUT_LEN];
    phc.compute(password, &mut out, blocks)?;
    phc.hash = out.to_vec();
    Some(phc.format())
}

/// Whether `password` matches the stored `hash` (constant-time comparison).
fn verify_with(password: &[u8], hash: &str, blocks: &mut [Block]) -> bool {
    let Some(phc) = Phc::parse(hash) else { return false };
    if phc.hash.is_empty() || phc.hash.len() > 64 {
        return false;
    }
    let mut out = vec![0u8; phc.hash.len()];
    phc.compute(password, &mut out, blocks).is_some() && bool::from(out.ct_eq(&phc.hash))
}

/// Verifies against this when the account doesn't exist, so unknown emails cost the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut blocks = vec![Block::default(); MEMORY_KIB as usize];
    hash_with(&rand::random::<[u8; 16]>(), &mut blocks).unwrap_or_default()
});

/// Passwords are compared after NFKC normalisation, the same on set and on verify.
fn normalise(password: &SecretString) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(password.expose_secret().nfkc().collect())
}

/// One unit of hashing work for the pool, given the thread's working memory.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// Runs argon2 on a few dedicated threads, each with one preallocated 19 MiB working buffer, so
/// memory stays at `threads × 19 MiB` however many sign-ins arrive at once; extra work waits in
/// a bounded queue (and beyond that, in the waiting requests) instead of exhausting memory or
/// the async executor.
#[derive(Clone)]
pub struct PasswordHasherPool {
    jobs: tokio::sync::mpsc::Sender<Job>,
}

/// Jobs waiting for a hashing thread before callers start waiting to enqueue.
const QUEUE: usize = 64;

impl PasswordHasherPool {
    pub fn new(threads: usize) -> Self {
        let (jobs, queue) = tokio::sync::mpsc::channel::<Job>(QUEUE);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("holdfast-argon2-{n}")).spawn(move || {
                let mut blocks = vec![Block::default(); MEMORY_KIB as usize];
                loop {
                    // Only the waiting thread holds the lock; it is released before the work runs.
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).blocking_recv();
                    match job {
                        Some(job) => job(&mut blocks),
                        None => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self { jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |blocks| {
            let _ = done.send(work(blocks));
        });
        self.jobs.send(job).await.map_err(|_| AppError::internal(ErrorCode::Internal, "hashing threads stopped"))?;
        result.await.map_err(|_| AppError::internal(ErrorCode::Internal, "hashing job failed"))
    }

    pub async fn hash(&self, password: &SecretString) -> Result<String, AppError> {
        let normalised = normalise(password);
        self.run(move |blocks| hash_with(normalised.as_bytes(), blocks))
            .await?
            .ok_or_else(|| AppError::internal(ErrorCode::Internal, "password hashing failed"))
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is none (the same
    /// work either way, so unknown accounts can't be told apart by timing).
    pub async fn verify(&self, password: &SecretString, hash: Option<String>) -> Result<bool, AppError> {
        let normalised = normalise(password);
        self.run(move |blocks| match hash {
            Some(hash) => verify_with(normalised.as_bytes(), &hash, blocks),
            None => {
                verify_with(normalised.as_bytes(), &DUMMY_HASH, blocks);
                false
            }
        })
        .await
    }

    /// Whether `password` matches any of `hashes` (reuse check).
    pub async fn matches_any(&self, password: &SecretString, hashes: Vec<String>) -> Result<bool, AppError> {
        let normalised = normalise(password);
        self.run(move |blocks| hashes.iter().any(|hash| verify_with(normalised.as_bytes(), hash, blocks))).await
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
    let weak = |hint: String| AppError::field(ErrorCode::WeakPassword, "password").with_hint(hint);
    if length < policy.password_min_length as usize {
        return Err(weak(format!(
            "Use at least {} characters: a few unrelated words work well.",
            policy.password_min_length
        )));
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
    if let Some(word) = words.iter().find(|word| word.chars().count() >= 4 && lower.contains(word.as_str())) {
        return Err(weak(format!(
            "“{word}” is part of your name, your email address or your firm's name, which others can guess. \
             Use words that have nothing to do with you or the firm."
        )));
    }
    let inputs: Vec<&str> = context.to_vec();
    let estimate = zxcvbn::zxcvbn(&text, &inputs);
    if estimate.score() < zxcvbn::Score::Three {
        let why = estimate.feedback().and_then(|f| f.warning()).map(|w| format!("{w}. ")).unwrap_or_default();
        return Err(weak(format!("{why}Add another unrelated word or two to make it harder to guess.")));
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

    #[test]
    fn phc_strings_round_trip_and_interoperate_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut blocks = vec![Block::default(); MEMORY_KIB as usize];
        let ours = hash_with(b"open sesame", &mut blocks).unwrap();
        assert!(ours.starts_with(CURRENT_PREFIX));
        let reference =
            Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap());
        assert!(reference.verify_password(b"open sesame", ours.as_str()).is_ok(), "the argon2 crate accepts our hash");
        let theirs = reference.hash_password(b"open sesame").unwrap().to_string();
        assert!(verify_with(b"open sesame", &theirs, &mut blocks), "we accept the argon2 crate's hash");
        assert!(!verify_with(b"open sesamE", &theirs, &mut blocks));
        for broken in
            ["", "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "$argon2id$v=19$m=x$a$b", &theirs[..theirs.len() - 4]]
        {
            assert!(!verify_with(b"open sesame", broken, &mut blocks), "{broken}");
        }
        // Weaker old parameters still verify (and are flagged for an upgrade).
        let old = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap());
        let old_hash = old.hash_password(b"legacy").unwrap().to_string();
        assert!(verify_with(b"legacy", &old_hash, &mut blocks) && needs_rehash(&old_hash));
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
