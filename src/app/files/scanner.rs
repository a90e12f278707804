//! ClamAV's daemon over its INSTREAM protocol: `nINSTREAM\n`, then chunks each prefixed by
//! its length (4 bytes, big-endian), then a zero-length chunk; clamd answers one line,
//! `stream: OK`, `stream: NAME FOUND` or `… ERROR`. Each step has the timeout: connecting, every
//! chunk sent, and the verdict after the last (so a slow uploader is not mistaken for a slow
//! scanner). Anything but a clear answer in time is "unavailable": the upload is refused (fail
//! closed).

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::time::Instant;

use crate::error::{AppError, ErrorCode};

/// Where clamd listens (`scan.clamd` in the config file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerAddress {
    Unix(PathBuf),
    Tcp(String),
}

impl ScannerAddress {
    /// `unix:/path/clamd.ctl` or `tcp:host:port`; empty: no scanner (`None`).
    pub fn parse(text: &str) -> Result<Option<ScannerAddress>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match text.split_once(':') {
            Some(("unix", path)) if path.starts_with('/') => Ok(Some(ScannerAddress::Unix(PathBuf::from(path)))),
            Some(("tcp", address)) if address.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) => {
                Ok(Some(ScannerAddress::Tcp(address.to_owned())))
            }
            _ => Err(format!("expected \"unix:/path/to/clamd.ctl\" or \"tcp:host:port\", got {text:?}")),
        }
    }
}

impl std::fmt::Display for ScannerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScannerAddress::Unix(path) => write!(f, "unix:{}", path.display()),
            ScannerAddress::Tcp(address) => write!(f, "tcp:{address}"),
        }
    }
}

/// What clamd said about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The signature's name.
    Infected(String),
}

/// A configured scanner.
#[derive(Debug, Clone)]
pub struct Scanner {
    address: ScannerAddress,
    timeout: Duration,
}

trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// One scan under way: bytes are fed as they arrive, the verdict read at the end.
pub(crate) struct Scan {
    connection: Box<dyn Connection>,
    timeout: Duration,
}

/// Largest chunk sent at once (clamd reads chunks of any size up to its StreamMaxLength).
const MAX_CHUNK: usize = 64 * 1024;

fn unavailable(why: impl std::fmt::Display) -> AppError {
    AppError::internal(ErrorCode::ScannerUnavailable, format!("virus scanner: {why}"))
}

impl Scanner {
    pub fn new(address: ScannerAddress, timeout: Duration) -> Scanner {
        Scanner { address, timeout }
    }

    /// Where it listens.
    pub fn address(&self) -> &ScannerAddress {
        &self.address
    }

    /// Connects and sends `command` (E3003 when clamd can't be reached by `deadline`).
    async fn send(&self, command: &[u8], deadline: Instant) -> Result<Box<dyn Connection>, AppError> {
        let connect = async {
            let connection: Box<dyn Connection> = match &self.address {
                ScannerAddress::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
                ScannerAddress::Tcp(address) => Box::new(tokio::net::TcpStream::connect(address).await?),
            };
            Ok::<_, std::io::Error>(connection)
        };
        let mut connection = tokio::time::timeout_at(deadline, connect)
            .await
            .map_err(|_| unavailable("connect timed out"))?
            .map_err(unavailable)?;
        tokio::time::timeout_at(deadline, connection.write_all(command))
            .await
            .map_err(|_| unavailable("timed out"))?
            .map_err(unavailable)?;
        Ok(connection)
    }

    /// Starts a stream scan (E3003 when clamd can't be reached in time).
    pub(crate) async fn begin(&self) -> Result<Scan, AppError> {
        let deadline = Instant::now() + self.timeout;
        Ok(Scan { connection: self.send(b"nINSTREAM\n", deadline).await?, timeout: self.timeout })
    }

    /// Whether clamd answers `PING` within the timeout (for /health/detailed).
    pub async fn answers(&self) -> bool {
        let deadline = Instant::now() + self.timeout;
        let Ok(mut connection) = self.send(b"nPING\n", deadline).await else { return false };
        let mut answer = Vec::new();
        let read = tokio::time::timeout_at(deadline, connection.read_to_end(&mut answer)).await;
        read.is_ok_and(|r| r.is_ok()) && answer.trim_ascii() == b"PONG"
    }
}

impl Scan {
    /// Sends the next bytes of the file.
    pub(crate) async fn feed(&mut self, bytes: &[u8]) -> Result<(), AppError> {
        for chunk in bytes.chunks(MAX_CHUNK) {
            let length = u32::try_from(chunk.len()).map_err(unavailable)?.to_be_bytes();
            let send = async {
                self.connection.write_all(&length).await?;
                self.connection.write_all(chunk).await
            };
            tokio::time::timeout(self.timeout, send)
                .await
                .map_err(|_| unavailable("timed out"))?
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// Ends the stream and reads clamd's answer.
    pub(crate) async fn verdict(mut self) -> Result<Verdict, AppError> {
        let timeout = self.timeout;
        let finish = async {
            self.connection.write_all(&[0, 0, 0, 0]).await?;
            self.connection.flush().await?;
            let mut line = String::new();
            BufReader::new(&mut self.connection).read_line(&mut line).await?;
            Ok::<_, std::io::Error>(line)
        };
        let line =
            tokio::time::timeout(timeout, finish).await.map_err(|_| unavailable("timed out"))?.map_err(unavailable)?;
        parse_answer(&line)
    }
}

/// clamd's one-line answer (null- or newline-terminated).
fn parse_answer(line: &str) -> Result<Verdict, AppError> {
    let answer = line.trim_end_matches(['\0', '\n']).trim();
    let answer = answer.strip_prefix("stream:").map(str::trim).unwrap_or(answer);
    if answer == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(name) = answer.strip_suffix(" FOUND") {
        return Ok(Verdict::Infected(name.trim().to_owned()));
    }
    Err(unavailable(format!("answered {answer:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_a_unix_path_or_a_tcp_port() {
        assert_eq!(ScannerAddress::parse("").unwrap(), None);
        assert_eq!(
            ScannerAddress::parse("unix:/run/clamav/clamd.ctl").unwrap(),
            Some(ScannerAddress::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            ScannerAddress::parse("tcp:127.0.0.1:3310").unwrap(),
            Some(ScannerAddress::Tcp("127.0.0.1:3310".into()))
        );
        for bad in ["clamd", "unix:relative", "tcp:127.0.0.1", "http://x"] {
            assert!(ScannerAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_are_clean_infected_or_unavailable() {
        assert_eq!(parse_answer("stream: OK\0").unwrap(), Verdict::Clean);
        assert_eq!(
            parse_answer("stream: Holdfast.Test.UNOFFICIAL FOUND\n").unwrap(),
            Verdict::Infected("Holdfast.Test.UNOFFICIAL".into())
        );
        let error = parse_answer("INSTREAM size limit exceeded. ERROR\0").unwrap_err();
        assert_eq!(error.code(), ErrorCode::ScannerUnavailable);
    }
}
