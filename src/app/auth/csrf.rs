//! CSRF tokens: an HMAC of what the token is bound to (the session, or a pre-session cookie for
//! sign-in and setup forms), masked with fresh randomness on every page so compressed responses
//! never repeat it (BREACH), and compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::app::crypto::{MacKey, MasterKey};

/// A fresh random id for the pre-session cookie.
pub fn new_pre_session_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The key tokens are derived with (itself derived from the master key).
#[derive(Clone, Debug)]
pub struct CsrfKey(MacKey);

/// What a token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrfBinding {
    /// The session's stored hash.
    Session([u8; 32]),
    /// The random id in the pre-session cookie.
    PreSession(String),
}

impl CsrfKey {
    pub fn derive(master: &MasterKey) -> Self {
        Self(MacKey::derive(master, "holdfast/csrf/v1"))
    }

    fn expected(&self, binding: &CsrfBinding) -> [u8; 32] {
        match binding {
            CsrfBinding::Session(hash) => self.0.mac(&[b"session:", hash]),
            CsrfBinding::PreSession(id) => self.0.mac(&[b"pre:", id.as_bytes()]),
        }
    }

    /// A fresh masked token for a form.
    pub fn token(&self, binding: &CsrfBinding) -> String {
        let mask: [u8; 32] = rand::random();
        let expected = self.expected(binding);
        let mut bytes = mask.to_vec();
        bytes.extend(mask.iter().zip(expected).map(|(m, e)| m ^ e));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `token` was issued for `binding`.
    pub fn verify(&self, binding: &CsrfBinding, token: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(token.trim()) else { return false };
        if bytes.len() != 64 {
            return false;
        }
        let unmasked: Vec<u8> = bytes[..32].iter().zip(&bytes[32..]).map(|(m, x)| m ^ x).collect();
        unmasked.ct_eq(&self.expected(binding)).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_masked_and_checked() {
        let key = CsrfKey::derive(&MasterKey::generate());
        let session = CsrfBinding::Session([7; 32]);
        let a = key.token(&session);
        let b = key.token(&session);
        assert_ne!(a, b, "masked differently every time");
        assert!(key.verify(&session, &a) && key.verify(&session, &b));
        assert!(!key.verify(&CsrfBinding::Session([8; 32]), &a));
        assert!(!key.verify(&CsrfBinding::PreSession("x".into()), &a));
        assert!(!key.verify(&session, "") && !key.verify(&session, "garbage"));
        let other_key = CsrfKey::derive(&MasterKey::generate());
        assert!(!other_key.verify(&session, &a));
    }
}
