//! The encrypted backup container: a 64-byte header, then the payload in AES-256-GCM chunks
//! (the STREAM construction). Documented byte for byte in `docs/backup-format.md`.
//!
//! Each chunk's nonce is `prefix (7) ‖ counter (u32 BE) ‖ last (1)` and every chunk
//! authenticates the whole header as associated data, so reordering, dropping, truncating or
//! appending chunks, or editing the header, makes decryption fail.

use std::io::{self, Read, Write};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

/// Identifies a Holdfast backup.
pub const MAGIC: &[u8; 8] = b"HFBACKUP";
/// The container version this build writes and reads.
pub const VERSION: u16 = 1;
pub const HEADER_LEN: usize = 64;
/// Plaintext bytes per chunk (the last chunk may be shorter; empty only for an empty payload).
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

/// argon2id cost for the passphrase: 64 MiB, 3 passes, 1 lane.
const KDF_MEMORY_KIB: u32 = 64 * 1024;
const KDF_PASSES: u32 = 3;
const KDF_LANES: u32 = 1;
/// A header asking for more than this is refused before any work (no memory or CPU bomb).
const KDF_MAX_MEMORY_KIB: u32 = 256 * 1024;
const KDF_MAX_PASSES: u32 = 10;

/// Why a backup can't be read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("not a Holdfast backup (wrong magic bytes)")]
    NotABackup,
    #[error("backup format version {0} is not supported by this Holdfast")]
    UnsupportedVersion(u16),
    #[error("the backup header is damaged or asks for unreasonable key-derivation costs")]
    BadHeader,
    #[error("wrong passphrase, or the backup was modified (chunk {0} failed authentication)")]
    Authentication(u64),
    #[error("the backup is truncated")]
    Truncated,
    #[error("the backup contents are inconsistent: {0}")]
    Corrupt(String),
    #[error(
        "{0} already holds data: restore into an empty data directory, or add --force (the current data is kept aside)"
    )]
    NotEmpty(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl From<crate::app::store::dump::DumpError> for BackupError {
    fn from(error: crate::app::store::dump::DumpError) -> Self {
        BackupError::Corrupt(format!("reading the store: {error}"))
    }
}

/// The parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
    pub salt: [u8; 16],
    pub nonce_prefix: [u8; 7],
}

impl Header {
    pub fn fresh() -> Self {
        Self {
            memory_kib: KDF_MEMORY_KIB,
            passes: KDF_PASSES,
            lanes: KDF_LANES,
            salt: rand::random(),
            nonce_prefix: rand::random(),
        }
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(MAGIC);
        out[8..10].copy_from_slice(&VERSION.to_be_bytes());
        out[10] = 1; // key derivation: argon2id v1.3
        out[11..15].copy_from_slice(&self.memory_kib.to_be_bytes());
        out[15..19].copy_from_slice(&self.passes.to_be_bytes());
        out[19..23].copy_from_slice(&self.lanes.to_be_bytes());
        out[23..39].copy_from_slice(&self.salt);
        out[39..46].copy_from_slice(&self.nonce_prefix);
        out[46..50].copy_from_slice(&(CHUNK as u32).to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, BackupError> {
        if &bytes[..8] != MAGIC {
            return Err(BackupError::NotABackup);
        }
        let version = u16::from_be_bytes([bytes[8], bytes[9]]);
        if version != VERSION {
            return Err(BackupError::UnsupportedVersion(version));
        }
        let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let header = Header {
            memory_kib: word(11),
            passes: word(15),
            lanes: word(19),
            salt: bytes[23..39].try_into().expect("16 bytes"),
            nonce_prefix: bytes[39..46].try_into().expect("7 bytes"),
        };
        let sane = bytes[10] == 1
            && word(46) == CHUNK as u32
            && bytes[50..].iter().all(|&b| b == 0)
            && (8..=KDF_MAX_MEMORY_KIB).contains(&header.memory_kib)
            && (1..=KDF_MAX_PASSES).contains(&header.passes)
            && (1..=4).contains(&header.lanes)
            && u64::from(header.memory_kib) * u64::from(header.passes) <= 4 * 256 * 1024;
        if sane { Ok(header) } else { Err(BackupError::BadHeader) }
    }

    /// The 256-bit key from the passphrase (argon2id with this header's salt and costs).
    pub fn derive_key(&self, passphrase: &[u8]) -> Result<Zeroizing<[u8; 32]>, BackupError> {
        let params =
            Params::new(self.memory_kib, self.passes, self.lanes, Some(32)).map_err(|_| BackupError::BadHeader)?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, &self.salt, key.as_mut())
            .map_err(|_| BackupError::BadHeader)?;
        Ok(key)
    }

    fn nonce(&self, counter: u64, last: bool) -> Result<[u8; 12], BackupError> {
        let counter = u32::try_from(counter).map_err(|_| BackupError::Corrupt("too many chunks".into()))?;
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(&self.nonce_prefix);
        nonce[7..11].copy_from_slice(&counter.to_be_bytes());
        nonce[11] = u8::from(last);
        Ok(nonce)
    }
}

/// Keys derived from one passphrase, remembered by salt and costs. The many small objects of
/// an off-site generation (its change segments) share this keyring's salt, each with a fresh
/// random nonce prefix, so sealing and opening them costs one argon2 run instead of one per
/// object. (A generation holds at most a few thousand segments: 56 random bits keep a repeated
/// prefix — and so a repeated nonce — out of reach.)
pub struct Keyring {
    passphrase: secrecy::SecretString,
    sealing: Header,
    derived: std::sync::Mutex<std::collections::HashMap<[u8; 28], Zeroizing<[u8; 32]>>>,
}

impl Keyring {
    /// A keyring with a fresh salt for what it seals.
    pub fn new(passphrase: secrecy::SecretString) -> Self {
        Self::with_costs(passphrase, Header::fresh())
    }

    /// As `new`, sealing with the salt and costs of `header` (tests use cheap ones).
    pub fn with_costs(passphrase: secrecy::SecretString, sealing: Header) -> Self {
        Self { passphrase, sealing, derived: Default::default() }
    }

    /// Whether this keyring was made from `passphrase`.
    pub fn is_for(&self, passphrase: &secrecy::SecretString) -> bool {
        use secrecy::ExposeSecret;
        self.passphrase.expose_secret() == passphrase.expose_secret()
    }

    fn key_for(&self, header: &Header) -> Result<Zeroizing<[u8; 32]>, BackupError> {
        use secrecy::ExposeSecret;
        let mut id = [0u8; 28];
        id[..16].copy_from_slice(&header.salt);
        id[16..20].copy_from_slice(&header.memory_kib.to_be_bytes());
        id[20..24].copy_from_slice(&header.passes.to_be_bytes());
        id[24..].copy_from_slice(&header.lanes.to_be_bytes());
        if let Some(key) = self.derived.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(key.clone());
        }
        let key = header.derive_key(self.passphrase.expose_secret().as_bytes())?;
        self.derived.lock().unwrap_or_else(|p| p.into_inner()).insert(id, key.clone());
        Ok(key)
    }

    /// An encrypting writer under this keyring's salt with a fresh nonce prefix.
    pub fn writer<W: Write>(&self, inner: W) -> Result<EncryptingWriter<W>, BackupError> {
        let header = Header { nonce_prefix: rand::random(), ..self.sealing.clone() };
        let key = self.key_for(&header)?;
        EncryptingWriter::with_key(inner, header, &key)
    }

    /// A decrypting reader, deriving the key only for a salt not seen before.
    pub fn reader<R: Read>(&self, inner: R) -> Result<DecryptingReader<R>, BackupError> {
        DecryptingReader::with_key(inner, |header| self.key_for(header))
    }
}

/// Encrypts everything written to it; `finish` seals the last chunk.
pub struct EncryptingWriter<W: Write> {
    inner: W,
    cipher: Aes256Gcm,
    header: Header,
    aad: [u8; HEADER_LEN],
    buffer: Vec<u8>,
    counter: u64,
}

impl<W: Write> EncryptingWriter<W> {
    /// Writes the header and prepares to encrypt under a key derived from `passphrase`.
    pub fn new(inner: W, passphrase: &[u8]) -> Result<Self, BackupError> {
        Self::with_header(inner, passphrase, Header::fresh())
    }

    /// As `new`, with given key-derivation costs (tests use cheap ones).
    pub fn with_header(inner: W, passphrase: &[u8], header: Header) -> Result<Self, BackupError> {
        let key = header.derive_key(passphrase)?;
        Self::with_key(inner, header, &key)
    }

    fn with_key(mut inner: W, header: Header, key: &[u8; 32]) -> Result<Self, BackupError> {
        let aad = header.encode();
        inner.write_all(&aad)?;
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).expect("32-byte key");
        Ok(Self { inner, cipher, header, aad, buffer: Vec::with_capacity(CHUNK), counter: 0 })
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let nonce = self.header.nonce(self.counter, last).map_err(io::Error::other)?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: &self.buffer, aad: &self.aad })
            .map_err(|_| io::Error::other("encryption failed"))?;
        self.inner.write_all(&sealed)?;
        self.buffer.clear();
        self.counter += 1;
        Ok(())
    }

    /// Seals the final (possibly empty) chunk and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for EncryptingWriter<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let written = data.len();
        while !data.is_empty() {
            // A full buffer is sealed only when more data follows, so the last chunk is known.
            if self.buffer.len() == CHUNK {
                self.seal(false)?;
            }
            let take = (CHUNK - self.buffer.len()).min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts and authenticates chunk by chunk; any failure is an error, never bad data.
pub struct DecryptingReader<R: Read> {
    inner: R,
    cipher: Aes256Gcm,
    header: Header,
    aad: [u8; HEADER_LEN],
    /// One sealed chunk read ahead, to tell whether the current one is the last.
    pending: Vec<u8>,
    plain: Vec<u8>,
    position: usize,
    counter: u64,
    done: bool,
}

fn read_up_to<R: Read>(reader: &mut R, buffer: &mut Vec<u8>, want: usize) -> io::Result<()> {
    buffer.clear();
    reader.take(want as u64).read_to_end(buffer)?;
    Ok(())
}

impl<R: Read> DecryptingReader<R> {
    pub fn new(inner: R, passphrase: &[u8]) -> Result<Self, BackupError> {
        Self::with_key(inner, |header| header.derive_key(passphrase))
    }

    /// Reads the header, then decrypts under the key `key_for` answers for it.
    fn with_key(
        mut inner: R,
        key_for: impl FnOnce(&Header) -> Result<Zeroizing<[u8; 32]>, BackupError>,
    ) -> Result<Self, BackupError> {
        let mut aad = [0u8; HEADER_LEN];
        inner.read_exact(&mut aad).map_err(|_| BackupError::NotABackup)?;
        let header = Header::decode(&aad)?;
        let key = key_for(&header)?;
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).expect("32-byte key");
        let mut pending = Vec::with_capacity(CHUNK + TAG);
        read_up_to(&mut inner, &mut pending, CHUNK + TAG)?;
        if pending.len() < TAG {
            return Err(BackupError::Truncated);
        }
        Ok(Self { inner, cipher, header, aad, pending, plain: Vec::new(), position: 0, counter: 0, done: false })
    }

    /// Decrypts the pending chunk (reading the next one ahead).
    fn advance(&mut self) -> Result<(), BackupError> {
        let mut next = Vec::with_capacity(CHUNK + TAG);
        read_up_to(&mut self.inner, &mut next, CHUNK + TAG)?;
        let last = next.is_empty();
        if !last && self.pending.len() != CHUNK + TAG {
            return Err(BackupError::Authentication(self.counter));
        }
        let nonce = self.header.nonce(self.counter, last)?;
        self.plain = self
            .cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: &self.pending, aad: &self.aad })
            .map_err(|_| BackupError::Authentication(self.counter))?;
        self.position = 0;
        self.counter += 1;
        self.done = last;
        self.pending = next;
        Ok(())
    }
}

impl<R: Read> Read for DecryptingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.position == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.advance().map_err(io::Error::other)?;
        }
        let n = (self.plain.len() - self.position).min(out.len());
        out[..n].copy_from_slice(&self.plain[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap key derivation so the tests run fast; the format is the same.
    fn cheap() -> Header {
        Header { memory_kib: 8, passes: 1, ..Header::fresh() }
    }

    fn encrypt(data: &[u8], passphrase: &[u8]) -> Vec<u8> {
        let mut writer = EncryptingWriter::with_header(Vec::new(), passphrase, cheap()).unwrap();
        writer.write_all(data).unwrap();
        writer.finish().unwrap()
    }

    fn decrypt(file: &[u8], passphrase: &[u8]) -> Result<Vec<u8>, String> {
        let mut reader = DecryptingReader::new(file, passphrase).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let data = sample(len);
            let file = encrypt(&data, b"passphrase");
            let chunks = len.div_ceil(CHUNK).max(1);
            assert_eq!(file.len(), HEADER_LEN + len + chunks * TAG, "{len}");
            assert_eq!(decrypt(&file, b"passphrase").unwrap(), data, "{len}");
        }
    }

    #[test]
    fn any_change_is_detected() {
        let data = sample(3 * CHUNK + 100);
        let file = encrypt(&data, b"passphrase");
        assert!(decrypt(&file, b"wrong passphrase").is_err());
        let chunk = CHUNK + TAG;
        let positions =
            [0, 9, 12, 30, 45, 49, 63, HEADER_LEN, HEADER_LEN + chunk / 2, HEADER_LEN + 2 * chunk + 7, file.len() - 1];
        for position in positions {
            let mut tampered = file.clone();
            tampered[position] ^= 0x01;
            assert!(decrypt(&tampered, b"passphrase").is_err(), "flipped byte {position}");
        }
        assert!(decrypt(&file[..file.len() - 1], b"passphrase").is_err(), "truncated by a byte");
        assert!(decrypt(&file[..HEADER_LEN + chunk], b"passphrase").is_err(), "truncated at a chunk boundary");
        let mut appended = file.clone();
        appended.extend_from_slice(&file[HEADER_LEN..HEADER_LEN + chunk]);
        assert!(decrypt(&appended, b"passphrase").is_err(), "a chunk appended");
        let mut swapped = file.clone();
        let (a, b) = (HEADER_LEN, HEADER_LEN + chunk);
        let first = file[a..a + chunk].to_vec();
        swapped[a..a + chunk].copy_from_slice(&file[b..b + chunk]);
        swapped[b..b + chunk].copy_from_slice(&first);
        assert!(decrypt(&swapped, b"passphrase").is_err(), "chunks swapped");
        let other = encrypt(&data, b"passphrase");
        let mut mixed = file.clone();
        mixed[HEADER_LEN..HEADER_LEN + chunk].copy_from_slice(&other[HEADER_LEN..HEADER_LEN + chunk]);
        assert!(decrypt(&mixed, b"passphrase").is_err(), "a chunk from another backup");
    }

    #[test]
    fn garbage_and_hostile_headers_fail_cleanly() {
        assert!(decrypt(b"", b"p").is_err());
        assert!(decrypt(b"HFBACKUP", b"p").is_err());
        let mut header = Header::fresh().encode();
        header[11..15].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(Header::decode(&header), Err(BackupError::BadHeader)), "no 4 TiB key derivation");
        for seed in 0..200u32 {
            let noise: Vec<u8> = (0..(seed as usize * 37 % 300)).map(|i| (i as u32 * seed % 256) as u8).collect();
            let mut file = cheap().encode().to_vec();
            file.extend_from_slice(&noise);
            assert!(decrypt(&file, b"p").is_err());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any single-byte change anywhere in a backup is detected.
        #[test]
        fn any_flipped_byte_is_detected(position in 0usize..(HEADER_LEN + 2 * (CHUNK + TAG) + 500), flip in 1u8..=255) {
            use std::sync::OnceLock;
            static FILE: OnceLock<Vec<u8>> = OnceLock::new();
            let file = FILE.get_or_init(|| encrypt(&sample(2 * CHUNK + 484), b"passphrase"));
            let mut tampered = file.clone();
            let at = position % tampered.len();
            tampered[at] ^= flip;
            proptest::prop_assert!(decrypt(&tampered, b"passphrase").is_err());
        }
    }
}
