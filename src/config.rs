//! Bootstrap configuration: TOML file, then `HOLDFAST_SECTION__KEY` environment, then flags.
//!
//! Only what is needed before the store opens lives here; runtime policies live in the store.
//! Unknown keys and bad values are errors that name the key.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Prefix of environment variables that override config keys (`HOLDFAST_SERVER__LISTEN`).
const ENV_PREFIX: &str = "HOLDFAST_";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub scan: ScanConfig,
}

/// The virus scanner uploads pass through (ClamAV's daemon), if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// `unix:/run/clamav/clamd.ctl` or `tcp:127.0.0.1:3310`; empty: files are stored unscanned.
    #[serde(default)]
    pub clamd: String,
    /// How long a scan may take before the upload is refused (E3003).
    #[serde(default = "default_scan_timeout")]
    pub timeout_s: u64,
}

fn default_scan_timeout() -> u64 {
    30
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self { clamd: String::new(), timeout_s: default_scan_timeout() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    #[serde(default = "default_http_listen")]
    pub http_listen: HttpListen,
    /// The address users type; used in emails and Origin checks. Empty means unset.
    #[serde(default, with = "optional_url")]
    pub public_url: Option<url::Url>,
    /// Peers whose forwarding header is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<IpNet>,
    /// Which header the trusted proxies set: only that one is read (a client could add the
    /// other, and a proxy that doesn't know it would pass it through).
    #[serde(default)]
    pub forwarded_header: ForwardedHeader,
}

/// The forwarding header a reverse proxy appends the client address to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ForwardedHeader {
    #[default]
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    #[serde(rename = "forwarded")]
    Forwarded,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub mode: TlsMode,
    #[serde(default)]
    pub cert_file: PathBuf,
    #[serde(default)]
    pub key_file: PathBuf,
    #[serde(default)]
    pub min_version: TlsMinVersion,
    /// `mode = "acme"`: the names to certify.
    #[serde(default)]
    pub acme_domains: Vec<String>,
    /// `mode = "acme"`: the contact address given to the CA (expiry notices), optional.
    #[serde(default)]
    pub acme_email: String,
    #[serde(default = "default_acme_directory")]
    pub acme_directory: String,
    /// Use Let's Encrypt's staging directory (untrusted certificates, generous limits) when
    /// `acme_directory` is left at its default.
    #[serde(default)]
    pub acme_staging: bool,
    /// An extra CA to trust for the ACME directory (test servers such as Pebble).
    #[serde(default)]
    pub acme_ca_file: PathBuf,
}

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory.
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

fn default_acme_directory() -> String {
    LETS_ENCRYPT.to_owned()
}

impl TlsConfig {
    /// The ACME directory in use: staging replaces the default production directory.
    pub fn acme_directory_url(&self) -> &str {
        if self.acme_staging && self.acme_directory == LETS_ENCRYPT {
            LETS_ENCRYPT_STAGING
        } else {
            &self.acme_directory
        }
    }
}

/// Where the HTTPS certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Generated on first start and renewed automatically (`tls/cert.pem`, `tls/key.pem`).
    #[default]
    SelfSigned,
    /// A PEM chain and key from `cert_file` / `key_file`, reloaded when they change or on SIGHUP.
    Files,
    /// Certificates from an ACME CA (Let's Encrypt by default), obtained and renewed in the
    /// background; kept under `tls/`.
    Acme,
    /// Plain HTTP, only behind a trusted TLS-terminating proxy.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TlsMinVersion {
    #[serde(rename = "1.2")]
    Tls12,
    #[default]
    #[serde(rename = "1.3")]
    Tls13,
}

/// The plain-HTTP listener that redirects to HTTPS, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpListen {
    Off,
    On(SocketAddr),
}

impl Serialize for HttpListen {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HttpListen::Off => s.serialize_str("off"),
            HttpListen::On(addr) => s.collect_str(addr),
        }
    }
}

impl<'de> Deserialize<'de> for HttpListen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for HttpListen {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        if text == "off" {
            return Ok(HttpListen::Off);
        }
        text.parse()
            .map(HttpListen::On)
            .map_err(|_| format!("expected \"off\" or an address like 0.0.0.0:8080, got {text:?}"))
    }
}

mod optional_url {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<url::Url>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_ref().map(url::Url::as_str).unwrap_or(""))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<url::Url>, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() {
            return Ok(None);
        }
        let url = url::Url::parse(&text).map_err(serde::de::Error::custom)?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(serde::de::Error::custom("expected an http(s) URL with a host"));
        }
        Ok(Some(url))
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./holdfast-data")
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8443))
}

fn default_http_listen() -> HttpListen {
    HttpListen::On(SocketAddr::from(([0, 0, 0, 0], 8080)))
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            http_listen: default_http_listen(),
            public_url: None,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
        }
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            mode: TlsMode::SelfSigned,
            cert_file: PathBuf::new(),
            key_file: PathBuf::new(),
            min_version: TlsMinVersion::Tls13,
            acme_domains: Vec::new(),
            acme_email: String::new(),
            acme_directory: default_acme_directory(),
            acme_staging: false,
            acme_ca_file: PathBuf::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            server: ServerConfig::default(),
            tls: TlsConfig::default(),
            scan: ScanConfig::default(),
        }
    }
}

/// Flags that override the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub http_listen: Option<HttpListen>,
}

/// A configuration problem, worded for the person running the command.
#[derive(Debug)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Loads the layers in order: file (if any), the given environment, then flags.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
                text.parse::<toml::Table>().map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut table, env)?;
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError(format!("invalid config key `{}`: {}", e.path(), e.inner().message())))?;
        if let Some(dir) = &overrides.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(listen) = overrides.listen {
            config.server.listen = listen;
        }
        if let Some(http) = overrides.http_listen {
            config.server.http_listen = http;
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Err(why) = crate::app::files::ScannerAddress::parse(&self.scan.clamd) {
            return Err(ConfigError(format!("scan.clamd: {why}")));
        }
        if !(1..=600).contains(&self.scan.timeout_s) {
            return Err(ConfigError("scan.timeout_s: expected 1 to 600 seconds".into()));
        }
        match self.tls.mode {
            TlsMode::Files if self.tls.cert_file.as_os_str().is_empty() || self.tls.key_file.as_os_str().is_empty() => {
                Err(ConfigError("tls.mode = \"files\" needs tls.cert_file and tls.key_file".into()))
            }
            TlsMode::Acme => self.validate_acme(),
            TlsMode::Off if self.server.trusted_proxies.is_empty() => Err(ConfigError(
                "tls.mode = \"off\" is only allowed behind a TLS-terminating proxy: list it in server.trusted_proxies"
                    .into(),
            )),
            _ => Ok(()),
        }
    }

    fn validate_acme(&self) -> Result<(), ConfigError> {
        let tls = &self.tls;
        if tls.acme_domains.is_empty() {
            return Err(ConfigError("tls.mode = \"acme\" needs tls.acme_domains (the names to certify)".into()));
        }
        if let Some(bad) = tls.acme_domains.iter().find(|name| !is_dns_name(name)) {
            return Err(ConfigError(format!("tls.acme_domains: `{bad}` is not a DNS name")));
        }
        if !tls.acme_email.is_empty() && !tls.acme_email.contains('@') {
            return Err(ConfigError("tls.acme_email: expected an email address".into()));
        }
        match url::Url::parse(tls.acme_directory_url()) {
            Ok(url) if url.scheme() == "https" => {}
            _ => return Err(ConfigError("tls.acme_directory: expected an https:// URL".into())),
        }
        if !tls.acme_ca_file.as_os_str().is_empty() && !tls.acme_ca_file.is_file() {
            return Err(ConfigError(format!("tls.acme_ca_file: {} is not a file", tls.acme_ca_file.display())));
        }
        Ok(())
    }

    /// The configuration as TOML, for `check-config`. It holds no secrets: those live in the
    /// store or the data directory, never in the bootstrap file.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

/// A name a CA can certify: letters, digits and hyphens in dot-separated labels (a leading
/// `*.` for a wildcard is refused: HTTP-01 and TLS-ALPN-01 cannot prove one).
fn is_dns_name(name: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    name.len() <= 253 && name.contains('.') && name.split('.').all(label)
}

/// Writes `HOLDFAST_SECTION__KEY=value` variables into the table. Arrays are written as TOML
/// (`["10.0.0.0/8"]`); everything else is taken as a string and parsed by the field's type.
fn apply_env(table: &mut toml::Table, env: impl IntoIterator<Item = (String, String)>) -> Result<(), ConfigError> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
        let Some((section, key)) = rest.split_once("__") else { continue };
        let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
        let parsed = if value.trim_start().starts_with('[') {
            toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .ok_or_else(|| ConfigError(format!("{name}: not a valid TOML array")))?
        } else {
            toml::Value::String(value)
        };
        let section_table = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(section_table) = section_table else {
            return Err(ConfigError(format!("{name}: `{section}` is not a section")));
        };
        section_table.insert(key, parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml_text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("holdfast.toml");
        std::fs::write(&path, toml_text).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::load(Some(&path), env, &Overrides::default())
    }

    #[test]
    fn defaults_match_the_contract() {
        let config = load("", &[]).unwrap();
        assert_eq!(config.server.listen.to_string(), "0.0.0.0:8443");
        assert_eq!(config.server.http_listen, HttpListen::On("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(config.tls.mode, TlsMode::SelfSigned);
        assert_eq!(config.tls.min_version, TlsMinVersion::Tls13);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = load("[server]\nlisen = \"0.0.0.0:1\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("server") && err.contains("lisen"), "{err}");
        let err = load("", &[("HOLDFAST_TLS__MODEE", "files")]).unwrap_err().to_string();
        assert!(err.contains("tls") && err.contains("modee"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = load("[server]\nlisten = \"nowhere\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("server.listen"), "{err}");
        let err = load("[tls]\nmin_version = \"1.1\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("tls.min_version"), "{err}");
    }

    #[test]
    fn env_overrides_file_and_flags_override_env() {
        let config = load(
            "[server]\nlisten = \"127.0.0.1:1000\"\nhttp_listen = \"off\"\n",
            &[("HOLDFAST_SERVER__LISTEN", "127.0.0.1:2000"), ("HOLDFAST_SERVER__TRUSTED_PROXIES", "[\"10.0.0.0/8\"]")],
        )
        .unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:2000");
        assert_eq!(config.server.http_listen, HttpListen::Off);
        assert_eq!(config.server.trusted_proxies.len(), 1);
        let overrides = Overrides { listen: Some("127.0.0.1:3000".parse().unwrap()), ..Default::default() };
        let env = [("HOLDFAST_SERVER__LISTEN".to_string(), "127.0.0.1:2000".to_string())];
        let config = Config::load(None, env, &overrides).unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:3000");
    }

    #[test]
    fn tls_off_needs_a_trusted_proxy() {
        assert!(load("[tls]\nmode = \"off\"\n", &[]).is_err());
        assert!(load("[tls]\nmode = \"off\"\n[server]\ntrusted_proxies = [\"127.0.0.1/32\"]\n", &[]).is_ok());
    }

    #[test]
    fn acme_needs_names_it_can_certify() {
        let err = load("[tls]\nmode = \"acme\"\n", &[]).unwrap_err().to_string();
        assert!(err.contains("tls.acme_domains"), "{err}");
        let err = load("[tls]\nmode = \"acme\"\nacme_domains = [\"*.example.com\"]\n", &[]).unwrap_err().to_string();
        assert!(err.contains("not a DNS name"), "{err}");
        let err = load(
            "[tls]\nmode = \"acme\"\nacme_domains = [\"crm.example.com\"]\nacme_directory = \"http://ca.test/dir\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("https://"), "{err}");
        let config =
            load("[tls]\nmode = \"acme\"\nacme_domains = [\"crm.example.com\"]\nacme_staging = true\n", &[]).unwrap();
        assert_eq!(config.tls.acme_directory_url(), LETS_ENCRYPT_STAGING);
        let env = [("HOLDFAST_TLS__MODE", "acme"), ("HOLDFAST_TLS__ACME_DOMAINS", "[\"crm.example.com\"]")];
        assert_eq!(load("", &env).unwrap().tls.acme_directory_url(), LETS_ENCRYPT);
    }
}
