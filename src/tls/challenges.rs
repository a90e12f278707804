//! Answers to an ACME CA's challenges while it validates: HTTP-01 (a token's key
//! authorization at `/.well-known/acme-challenge/TOKEN` on the plain-HTTP listener) and
//! TLS-ALPN-01 (a certificate carrying the key authorization's digest, handed out on the HTTPS
//! listener only to a client that offers nothing but the `acme-tls/1` protocol).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rcgen::{CertificateParams, CustomExtension, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::ClientHello;
use rustls::sign::CertifiedKey;

use super::TlsError;

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The answers in place now (empty between validations).
#[derive(Default)]
pub struct Challenges {
    /// HTTP-01: token → key authorization.
    http: RwLock<HashMap<String, String>>,
    /// TLS-ALPN-01: lower-case name → its challenge certificate.
    alpn: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for Challenges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenges").finish_non_exhaustive()
    }
}

impl Challenges {
    /// The key authorization for an HTTP-01 `token`, while the CA validates it.
    pub fn http01(&self, token: &str) -> Option<String> {
        self.http.read().unwrap_or_else(|p| p.into_inner()).get(token).cloned()
    }

    /// The TLS-ALPN-01 certificate for `name`, while the CA validates it.
    pub fn tls_alpn01(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        self.alpn.read().unwrap_or_else(|p| p.into_inner()).get(&name.to_ascii_lowercase()).cloned()
    }

    pub(super) fn answer_http01(&self, token: &str, key_authorization: &str) {
        self.http.write().unwrap_or_else(|p| p.into_inner()).insert(token.to_owned(), key_authorization.to_owned());
    }

    /// Makes the self-signed certificate for `name` whose acmeIdentifier extension holds
    /// `digest` (the SHA-256 of the key authorization).
    pub(super) fn answer_tls_alpn01(
        &self,
        name: &str,
        digest: &[u8],
        provider: &CryptoProvider,
    ) -> Result<(), TlsError> {
        let key_pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(vec![name.to_owned()])?;
        params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
        let certificate = params.self_signed(&key_pair)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der()));
        let chain = vec![CertificateDer::from(certificate.der().to_vec())];
        // Not `from_der`: its key check parses the certificate and refuses the critical
        // acmeIdentifier extension that is the whole point here.
        let key = provider.key_provider.load_private_key(key).map_err(TlsError::Mismatch)?;
        let key = CertifiedKey::new(chain, key);
        self.alpn.write().unwrap_or_else(|p| p.into_inner()).insert(name.to_ascii_lowercase(), Arc::new(key));
        Ok(())
    }

    /// Withdraws every answer (validation is over, whichever way it went).
    pub(super) fn clear(&self) {
        self.http.write().unwrap_or_else(|p| p.into_inner()).clear();
        self.alpn.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// A TLS-ALPN-01 validation: the client offers `acme-tls/1` and nothing else.
pub(super) fn is_alpn_challenge(hello: &ClientHello<'_>) -> bool {
    let Some(mut offered) = hello.alpn() else { return false };
    offered.next() == Some(ACME_TLS_ALPN) && offered.next().is_none()
}
