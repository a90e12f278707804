//! Device cookies, OWASP's answer to lock-out abuse: a browser that completed a sign-in to an
//! account carries a cookie vouching for that account (a random nonce and an HMAC of account,
//! password epoch and nonce, keyed from the master key; nothing is stored). Per-account delays
//! and the hard lock hold back attempts from every other device; a vouched-for device is held
//! back by its address's limit and by its own count of failures (five, then it is trusted no
//! more until a success). A new password (change or reset) ends every cookie of the account.
//! So a stranger hammering an account slows down the stranger, not the colleague at their
//! usual desk, and a cookie copied from a shared computer is no key for guessing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::app::crypto::{MacKey, MasterKey};
use crate::domain::ids::UserId;

/// The value of a device cookie issued after a completed sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCookie(pub String);

/// The key device cookies are signed with.
#[derive(Clone, Debug)]
pub struct DeviceKey(MacKey);

impl DeviceKey {
    pub fn derive(master: &MasterKey) -> Self {
        Self(MacKey::derive(master, "holdfast/device/v1"))
    }

    fn mac(&self, user: &UserId, epoch: &str, nonce: &[u8]) -> [u8; 32] {
        let epoch_len = (epoch.len() as u64).to_be_bytes();
        self.0.mac(&[user.as_bytes(), &epoch_len, epoch.as_bytes(), nonce])
    }

    /// A new cookie vouching for `user` on this browser while the password stays `epoch` (the
    /// stored password hash: a new password makes a new one).
    pub fn issue(&self, user: &UserId, epoch: &str) -> DeviceCookie {
        let nonce: [u8; 16] = rand::random();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&self.mac(user, epoch, &nonce));
        DeviceCookie(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Whether `cookie` was issued to a browser that signed in as `user` since the password
    /// became `epoch`.
    pub fn vouches_for(&self, cookie: &str, user: &UserId, epoch: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(cookie.trim()) else { return false };
        let Some((nonce, mac)) = bytes.split_at_checked(16) else { return false };
        mac.len() == 32 && bool::from(mac.ct_eq(&self.mac(user, epoch, nonce)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_vouches_for_its_account_only() {
        let key = DeviceKey::derive(&MasterKey::from_bytes([7; 32]));
        let (ann, bob) = (UserId::random(), UserId::random());
        let cookie = key.issue(&ann, "hash-1");
        assert!(key.vouches_for(&cookie.0, &ann, "hash-1"));
        assert!(!key.vouches_for(&cookie.0, &bob, "hash-1"));
        assert!(!key.vouches_for(&cookie.0, &ann, "hash-2"), "a new password ends it");
        assert!(
            !DeviceKey::derive(&MasterKey::from_bytes([8; 32])).vouches_for(&cookie.0, &ann, "hash-1"),
            "another server's key"
        );
        let mut forged = cookie.0.clone();
        forged.replace_range(30..31, if &forged[30..31] == "A" { "B" } else { "A" });
        assert!(!key.vouches_for(&forged, &ann, "hash-1"));
        assert!(!key.vouches_for("", &ann, "hash-1") && !key.vouches_for("not base64!", &ann, "hash-1"));
    }
}
