//! The ACME client's HTTP: our reqwest client (ring, the public roots plus an optional extra
//! CA for test servers) behind instant-acme's `HttpClient`, so no second TLS stack is built.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Speaks HTTPS to the ACME directory.
#[derive(Clone)]
pub(super) struct AcmeHttp(reqwest::Client);

impl AcmeHttp {
    /// Trusts the public web roots, and the CA in `extra_ca` when given.
    pub(super) fn new(extra_ca: Option<&Path>) -> Result<AcmeHttp, String> {
        let extra = match extra_ca {
            Some(path) => CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("{}: {e}", path.display()))?,
            None => Vec::new(),
        };
        let client = super::outbound_client(extra)
            .map_err(|e| e.to_string())?
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("Holdfast/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(AcmeHttp(client))
    }
}

fn other(e: impl std::error::Error + Send + Sync + 'static) -> instant_acme::Error {
    instant_acme::Error::Other(Box::new(e))
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        request: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let client = self.0.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let request = reqwest::Request::try_from(http::Request::from_parts(parts, body)).map_err(other)?;
            let response = client.execute(request).await.map_err(other)?;
            Ok(BytesResponse::from(http::Response::<reqwest::Body>::from(response)))
        })
    }
}
