//! Key material: the master key, and sealing of stored secrets (SMTP password, TOTP secrets)
//! with AES-256-GCM under a key derived from it. The purpose string is authenticated as
//! associated data, so a sealed value copied to another purpose or record fails to open.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{AppError, ErrorCode};

/// The 256-bit master key from `keys/master.key`. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub fn generate() -> Self {
        Self(Zeroizing::new(rand::random()))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw key, for writing it to its file and deriving sub-keys. Never log it.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A sub-key for one use, so no two features share key material.
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_slice()).expect("any key length");
        mac.update(label.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

/// An HMAC-SHA256 key for one feature, derived from the master key under its own label; `Debug`
/// never shows it. What it signs is the feature's business (CSRF tokens, device cookies).
#[derive(Clone)]
pub struct MacKey(Zeroizing<[u8; 32]>);

impl MacKey {
    pub fn derive(master: &MasterKey, label: &str) -> Self {
        Self(master.derive(label))
    }

    /// The MAC of `parts`, fed in order (each part's boundary is the caller's to make clear).
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_slice()).expect("any key length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(<redacted>)")
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Format byte of a sealed value: version 1 = AES-256-GCM, 96-bit random nonce.
const SEALED_V1: u8 = 1;

/// Seals and opens small stored secrets.
#[derive(Clone)]
pub struct Sealer(Zeroizing<[u8; 32]>);

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    pub fn new(master: &MasterKey) -> Self {
        Self(master.derive("holdfast/secrets/v1"))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(self.0.as_slice()).expect("32-byte key")
    }

    /// `version ‖ nonce ‖ ciphertext+tag`, bound to `purpose`.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, AppError> {
        let nonce: [u8; 12] = rand::random();
        let ciphertext = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: purpose.as_bytes() })
            .map_err(|_| AppError::internal(ErrorCode::Internal, "encryption failed"))?;
        let mut sealed = vec![SEALED_V1];
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a value sealed for `purpose`; any tampering or a wrong purpose fails.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, AppError> {
        let refused = || AppError::internal(ErrorCode::StorageUnavailable, "a sealed secret failed to open");
        let [SEALED_V1, rest @ ..] = sealed else { return Err(refused()) };
        if rest.len() < 12 + 16 {
            return Err(refused());
        }
        let (nonce, ciphertext) = rest.split_at(12);
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: purpose.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_purpose_and_untouched() {
        let sealer = Sealer::new(&MasterKey::generate());
        let sealed = sealer.seal("smtp-password", b"hunter2").unwrap();
        assert_eq!(sealer.open("smtp-password", &sealed).unwrap().as_slice(), b"hunter2");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"), "no plaintext in the sealed bytes");
        assert!(sealer.open("totp:other-user", &sealed).is_err(), "another purpose can't open it");
        for position in [0, 1, 13, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[position] ^= 1;
            assert!(sealer.open("smtp-password", &tampered).is_err(), "flipped byte {position}");
        }
        assert!(
            Sealer::new(&MasterKey::generate()).open("smtp-password", &sealed).is_err(),
            "another key can't open it"
        );
    }
}
