//! The field-encryption keyring: random 256-bit data keys, each with a `u32` key id, wrapped by
//! a key derived from the master key; one of them is current. Sealed field values are
//! `key id (u32 BE) ‖ 96-bit random nonce ‖ AES-256-GCM ciphertext+tag`, bound by associated
//! data to workspace, record kind, record id, key id and field name. Exact-match lookups of
//! sealed values go through a keyed blind index (HMAC-SHA256), never the plaintext.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::RwLock;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::crypto::MasterKey;
use crate::domain::ids::{RecordId, WorkspaceId};
use crate::error::{AppError, ErrorCode};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes in front of the ciphertext: key id and nonce.
const HEADER_LEN: usize = 4 + NONCE_LEN;

/// Where a sealed value lives; all of it is authenticated, so a ciphertext copied to another
/// workspace, record or field does not open.
#[derive(Clone, Copy)]
pub(crate) struct FieldSite<'a> {
    pub workspace: &'a WorkspaceId,
    pub kind: u8,
    pub record: &'a RecordId,
    pub field: &'a str,
}

impl FieldSite<'_> {
    fn aad(&self, key_id: u32) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64 + self.field.len());
        aad.extend_from_slice(b"holdfast/field/v1\0");
        aad.extend_from_slice(self.workspace.as_bytes());
        aad.push(self.kind);
        aad.extend_from_slice(self.record.as_bytes());
        aad.extend_from_slice(&key_id.to_be_bytes());
        aad.extend_from_slice(self.field.as_bytes());
        aad
    }
}

/// The key id a sealed value names (its first four bytes).
pub(crate) fn key_id_of(sealed: &[u8]) -> Option<u32> {
    sealed.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes)
}

struct Keys {
    current: u32,
    ciphers: BTreeMap<u32, Aes256Gcm>,
}

/// The data keys in memory. The AES key schedules are zeroized on drop (aes `zeroize`
/// feature); `Debug` shows only key ids.
pub(crate) struct Keyring {
    wrapping: Aes256Gcm,
    blind_key: Zeroizing<[u8; 32]>,
    keys: RwLock<Keys>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("current", &self.current_id()).field("key_ids", &self.key_ids()).finish()
    }
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new_from_slice(key).expect("32-byte key")
}

fn refused() -> AppError {
    AppError::internal(ErrorCode::StorageUnavailable, "an encrypted field failed to open")
}

impl Keyring {
    /// An empty keyring whose wrapping and blind-index keys derive from `master`.
    pub(crate) fn new(master: &MasterKey) -> Keyring {
        Keyring {
            wrapping: cipher(&master.derive("holdfast/keyring-wrap/v1")),
            blind_key: master.derive("holdfast/blind-index/v1"),
            keys: RwLock::new(Keys { current: 0, ciphers: BTreeMap::new() }),
        }
    }

    /// A fresh random data key, wrapped for storage under key id `id`.
    pub(crate) fn generate_wrapped(&self, id: u32) -> Result<Vec<u8>, AppError> {
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
        let nonce: [u8; NONCE_LEN] = rand::random();
        let aad = [&b"holdfast/data-key/v1\0"[..], &id.to_be_bytes()].concat();
        let wrapped = self
            .wrapping
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: key.as_slice(), aad: &aad })
            .map_err(|_| AppError::internal(ErrorCode::Internal, "wrapping a data key failed"))?;
        Ok([&nonce[..], &wrapped].concat())
    }

    /// Unwraps a stored data key and adds it; `current` makes it the key new values use.
    pub(crate) fn install(&self, id: u32, wrapped: &[u8], current: bool) -> Result<(), AppError> {
        let wrong =
            || AppError::internal(ErrorCode::StorageUnavailable, "a data key does not open with this master key");
        if wrapped.len() != NONCE_LEN + 32 + TAG_LEN {
            return Err(wrong());
        }
        let (nonce, body) = wrapped.split_at(NONCE_LEN);
        let aad = [&b"holdfast/data-key/v1\0"[..], &id.to_be_bytes()].concat();
        let key = Zeroizing::new(
            self.wrapping.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: &aad }).map_err(|_| wrong())?,
        );
        let key: &[u8; 32] = key.as_slice().try_into().map_err(|_| wrong())?;
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        keys.ciphers.insert(id, cipher(key));
        if current {
            keys.current = id;
        }
        Ok(())
    }

    /// Makes an installed key the one new values are sealed with.
    pub(crate) fn set_current(&self, id: u32) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.ciphers.contains_key(&id) {
            keys.current = id;
        }
    }

    /// Forgets a retired key (never the current one).
    pub(crate) fn remove(&self, id: u32) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.current != id {
            keys.ciphers.remove(&id);
        }
    }

    /// The id of the key new values are sealed with (0: none yet).
    pub(crate) fn current_id(&self) -> u32 {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).current
    }

    /// Every key id held, in order.
    pub(crate) fn key_ids(&self) -> Vec<u32> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).ciphers.keys().copied().collect()
    }

    /// Seals `plaintext` for `site` under the current key.
    pub(crate) fn seal(&self, site: &FieldSite<'_>, plaintext: &[u8]) -> Result<Vec<u8>, AppError> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let id = keys.current;
        let cipher = keys.ciphers.get(&id).ok_or_else(|| AppError::internal(ErrorCode::Internal, "no data key"))?;
        let nonce: [u8; NONCE_LEN] = rand::random();
        let aad = site.aad(id);
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| AppError::internal(ErrorCode::Internal, "encryption failed"))?;
        let mut sealed = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        sealed.extend_from_slice(&id.to_be_bytes());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a value sealed for `site`; a wrong site, unknown key id or any tampering fails.
    pub(crate) fn open(&self, site: &FieldSite<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, AppError> {
        if sealed.len() < HEADER_LEN + TAG_LEN {
            return Err(refused());
        }
        let id = key_id_of(sealed).ok_or_else(refused)?;
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let cipher = keys.ciphers.get(&id).ok_or_else(refused)?;
        let aad = site.aad(id);
        cipher
            .decrypt(Nonce::from_slice(&sealed[4..HEADER_LEN]), Payload { msg: &sealed[HEADER_LEN..], aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| refused())
    }

    /// The keyed blind index of a normalised value: HMAC-SHA256 over workspace, field and
    /// value with a key derived from the master key, base64url. Equal values of one field in
    /// one workspace give equal strings; other workspaces get unrelated ones.
    pub(crate) fn blind_index(&self, workspace: &WorkspaceId, field: &str, normalised_value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.blind_mac(workspace, field, normalised_value))
    }

    fn blind_mac(&self, workspace: &WorkspaceId, field: &str, normalised_value: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.blind_key.as_slice()).expect("any key length");
        mac.update(workspace.as_bytes());
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(normalised_value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(master: &MasterKey, ids: &[u32]) -> Keyring {
        let ring = Keyring::new(master);
        for id in ids {
            let wrapped = ring.generate_wrapped(*id).unwrap();
            ring.install(*id, &wrapped, true).unwrap();
        }
        ring
    }

    fn site<'a>(ws: &'a WorkspaceId, record: &'a RecordId, field: &'a str) -> FieldSite<'a> {
        FieldSite { workspace: ws, kind: 2, record, field }
    }

    #[test]
    fn round_trip_and_format() {
        let ring = ring(&MasterKey::generate(), &[1]);
        let (ws, id) = (WorkspaceId::random(), RecordId::random());
        let sealed = ring.seal(&site(&ws, &id, "tax_id"), b"DE-CANARY-123").unwrap();
        assert_eq!(key_id_of(&sealed), Some(1));
        assert_eq!(sealed.len(), 4 + 12 + 13 + 16);
        assert!(!sealed.windows(6).any(|w| w == b"CANARY"));
        assert_eq!(ring.open(&site(&ws, &id, "tax_id"), &sealed).unwrap().as_slice(), b"DE-CANARY-123");
        let again = ring.seal(&site(&ws, &id, "tax_id"), b"DE-CANARY-123").unwrap();
        assert_ne!(sealed, again, "random nonce per value");
    }

    #[test]
    fn ciphertext_moved_to_another_record_field_or_workspace_fails() {
        let ring = ring(&MasterKey::generate(), &[1]);
        let (ws, id) = (WorkspaceId::random(), RecordId::random());
        let sealed = ring.seal(&site(&ws, &id, "phones"), b"+44 20 7946 0000").unwrap();
        assert!(ring.open(&site(&ws, &RecordId::random(), "phones"), &sealed).is_err(), "other record");
        assert!(ring.open(&site(&ws, &id, "address"), &sealed).is_err(), "other field");
        assert!(ring.open(&site(&WorkspaceId::random(), &id, "phones"), &sealed).is_err(), "other workspace");
        let other_kind = FieldSite { kind: 1, ..site(&ws, &id, "phones") };
        assert!(ring.open(&other_kind, &sealed).is_err(), "other kind");
        for at in [5, 17, sealed.len() - 1] {
            let mut flipped = sealed.clone();
            flipped[at] ^= 1;
            assert!(ring.open(&site(&ws, &id, "phones"), &flipped).is_err(), "flipped byte {at}");
        }
        assert!(ring.open(&site(&ws, &id, "phones"), &sealed[..20]).is_err(), "truncated");
    }

    #[test]
    fn wrong_key_id_fails_and_old_keys_still_open_until_removed() {
        let master = MasterKey::generate();
        let ring = ring(&master, &[1]);
        let (ws, id) = (WorkspaceId::random(), RecordId::random());
        let old = ring.seal(&site(&ws, &id, "tax_id"), b"123").unwrap();
        let wrapped = ring.generate_wrapped(2).unwrap();
        ring.install(2, &wrapped, true).unwrap();
        let new = ring.seal(&site(&ws, &id, "tax_id"), b"123").unwrap();
        assert_eq!((key_id_of(&old), key_id_of(&new)), (Some(1), Some(2)));
        let mut relabelled = old.clone();
        relabelled[..4].copy_from_slice(&2u32.to_be_bytes());
        assert!(ring.open(&site(&ws, &id, "tax_id"), &relabelled).is_err(), "key id swapped");
        relabelled[..4].copy_from_slice(&9u32.to_be_bytes());
        assert!(ring.open(&site(&ws, &id, "tax_id"), &relabelled).is_err(), "unknown key id");
        assert!(ring.open(&site(&ws, &id, "tax_id"), &old).is_ok());
        ring.remove(1);
        ring.remove(2);
        assert_eq!(ring.key_ids(), vec![2], "the current key is never removed");
        assert!(ring.open(&site(&ws, &id, "tax_id"), &old).is_err(), "retired key");
        assert!(ring.open(&site(&ws, &id, "tax_id"), &new).is_ok());
    }

    #[test]
    fn wrapped_keys_open_only_with_their_master_key_and_id() {
        let master = MasterKey::generate();
        let ring = Keyring::new(&master);
        let wrapped = ring.generate_wrapped(7).unwrap();
        assert!(Keyring::new(&MasterKey::generate()).install(7, &wrapped, true).is_err());
        assert!(Keyring::new(&master).install(8, &wrapped, true).is_err());
        assert!(Keyring::new(&master).install(7, &wrapped, true).is_ok());
        assert_eq!(format!("{ring:?}"), "Keyring { current: 0, key_ids: [] }");
    }

    #[test]
    fn blind_index_is_stable_per_workspace_and_differs_across_workspaces() {
        let master = MasterKey::generate();
        let (a, b) = (WorkspaceId::random(), WorkspaceId::random());
        let one = ring(&master, &[1]);
        let two = ring(&master, &[1, 2]);
        let value = one.blind_index(&a, "phone", "442079460000");
        assert_eq!(value, two.blind_index(&a, "phone", "442079460000"), "stable across data keys");
        assert_ne!(value, one.blind_index(&b, "phone", "442079460000"), "per workspace");
        assert_ne!(value, one.blind_index(&a, "tax_id", "442079460000"), "per field");
        assert_ne!(value, ring(&MasterKey::generate(), &[1]).blind_index(&a, "phone", "442079460000"));
        assert!(!value.contains("4420"));
        assert_eq!(value.len(), 43);
    }
}
