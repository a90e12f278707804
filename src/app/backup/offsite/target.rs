//! Where off-site backups go: an S3-compatible bucket (AWS S3, Backblaze B2, Cloudflare R2,
//! SeaweedFS, Garage, Ceph), named by the settings page or by an `s3://BUCKET/PREFIX` URL with
//! the `AWS_*` variables, reached through `object_store` over our own reqwest client (ring, the
//! public web roots) — and the names of the objects kept there.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::client::{HttpClient, HttpConnector};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The off-site target as the settings keep it (the secret key sealed, as hex).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OffsiteSettings {
    /// `https://s3.eu-central-1.amazonaws.com`, `http://nas.lan:8333`…; empty: AWS by region.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Objects go under this prefix (`holdfast/acme`); empty: the bucket's root.
    pub prefix: String,
    pub access_key_id: String,
    /// Hex of the sealed secret access key; empty: none set.
    pub secret_sealed: String,
    /// Path-style addressing (`endpoint/bucket/key`), which self-hosted stores need.
    pub path_style: bool,
}

impl OffsiteSettings {
    /// Whether off-site backups are on (a bucket and credentials are set).
    pub fn is_configured(&self) -> bool {
        !self.bucket.is_empty() && !self.access_key_id.is_empty() && !self.secret_sealed.is_empty()
    }
}

/// A bucket and prefix with the credentials to reach them.
#[derive(Clone)]
pub struct OffsiteTarget {
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub path_style: bool,
}

impl std::fmt::Debug for OffsiteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffsiteTarget")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Why a target can't be used, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("expected s3://BUCKET/PREFIX")]
    NotS3Url,
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0}")]
    Invalid(String),
}

impl OffsiteTarget {
    /// `s3://BUCKET/PREFIX` with `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`
    /// (default `us-east-1`) and `AWS_ENDPOINT_URL` (path-style addressing when set).
    pub fn from_url(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<OffsiteTarget, TargetError> {
        let rest = url.strip_prefix("s3://").ok_or(TargetError::NotS3Url)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(TargetError::NotS3Url);
        }
        let endpoint = env("AWS_ENDPOINT_URL").filter(|e| !e.is_empty());
        let target = OffsiteTarget {
            path_style: endpoint.is_some(),
            endpoint,
            region: env("AWS_REGION").filter(|r| !r.is_empty()).unwrap_or_else(|| "us-east-1".to_owned()),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            access_key_id: env("AWS_ACCESS_KEY_ID").ok_or(TargetError::Missing("AWS_ACCESS_KEY_ID"))?,
            secret_access_key: env("AWS_SECRET_ACCESS_KEY")
                .map(SecretString::from)
                .ok_or(TargetError::Missing("AWS_SECRET_ACCESS_KEY"))?,
        };
        target.check()?;
        Ok(target)
    }

    /// `s3://BUCKET/PREFIX`, for messages.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// Checks what can be checked without asking the store.
    pub fn check(&self) -> Result<(), TargetError> {
        let bucket_ok = (3..=63).contains(&self.bucket.len())
            && self.bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(TargetError::Invalid(format!("`{}` is not a bucket name", self.bucket)));
        }
        if self.prefix.split('/').any(|part| part == ".." || part == ".") {
            return Err(TargetError::Invalid("the prefix may not hold `.` or `..` parts".into()));
        }
        if let Some(endpoint) = &self.endpoint {
            match url::Url::parse(endpoint) {
                Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => {}
                _ => return Err(TargetError::Invalid(format!("`{endpoint}` is not an http(s) endpoint URL"))),
            }
        }
        Ok(())
    }

    /// The object store client (requests retried with backoff by `object_store`).
    pub fn store(&self) -> Result<Arc<dyn ObjectStore>, TargetError> {
        self.check()?;
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(self.secret_access_key.expose_secret())
            .with_virtual_hosted_style_request(!self.path_style)
            .with_http_connector(Connector)
            .with_client_options(ClientOptions::new().with_allow_http(true))
            .with_retry(RetryConfig {
                max_retries: 5,
                retry_timeout: Duration::from_secs(120),
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|e| TargetError::Invalid(e.to_string()))?;
        Ok(Arc::new(store))
    }

    /// The object `name` under the prefix.
    pub fn object(&self, name: &str) -> ObjectPath {
        match self.prefix.as_str() {
            "" => ObjectPath::from(name),
            prefix => ObjectPath::from(format!("{prefix}/{name}")),
        }
    }

    /// The generations' folder (each holds one base backup, and later its change segments).
    pub fn generations(&self) -> ObjectPath {
        self.object("generations")
    }
}

/// Object names inside a generation: `generations/<12-digit unix time>/base.hfb`.
pub fn base_name(created_at: i64) -> String {
    format!("generations/{created_at:012}/base.hfb")
}

/// The creation time in a base's object path (`…/generations/000001765432100/base.hfb`).
pub fn parse_base(path: &ObjectPath) -> Option<i64> {
    let mut parts: Vec<&str> = path.as_ref().rsplit('/').take(3).collect();
    parts.reverse();
    match parts.as_slice() {
        ["generations", stamp, "base.hfb"] if stamp.len() == 12 => stamp.parse().ok(),
        _ => None,
    }
}

/// Hands `object_store` our outbound client (see [`crate::tls::outbound_client`]).
#[derive(Debug)]
struct Connector;

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let generic =
            |e: &dyn std::fmt::Display| object_store::Error::Generic { store: "S3", source: e.to_string().into() };
        let client = crate::tls::outbound_client(Vec::new())
            .map_err(|e| generic(&e))?
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| generic(&e))?;
        Ok(HttpClient::new(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_take_credentials_from_the_environment() {
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIA".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".to_owned()),
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:8333".to_owned()),
            _ => None,
        };
        let target = OffsiteTarget::from_url("s3://holdfast-backups/firm/acme/", env).unwrap();
        assert_eq!((target.bucket.as_str(), target.prefix.as_str()), ("holdfast-backups", "firm/acme"));
        assert_eq!(target.region, "us-east-1");
        assert!(target.path_style);
        assert_eq!(target.object(&base_name(42)).as_ref(), "firm/acme/generations/000000000042/base.hfb");
        assert_eq!(parse_base(&target.object(&base_name(1_765_432_100))), Some(1_765_432_100));
        assert!(matches!(OffsiteTarget::from_url("/tmp/x.hfb", env), Err(TargetError::NotS3Url)));
        assert!(matches!(OffsiteTarget::from_url("s3://b/p", |_| None), Err(TargetError::Missing(_))));
        assert!(OffsiteTarget::from_url("s3://Bad_Bucket/p", env).is_err());
        assert!(format!("{target:?}").find("secret").is_none(), "no secret in Debug");
    }
}
