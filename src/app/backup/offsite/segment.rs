//! A change segment: the rows changed since the previous segment (values as of one snapshot,
//! tombstones for deletions) and the files stored meanwhile, in the encrypted backup container.
//! Each names the SHA-256 of the object before it (the base, or the previous segment), so a
//! generation is a hash chain that `verify` walks and a restore replays.

use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::backup::format::{BackupError, Keyring};
use crate::app::store::oplog::ChangedRow;

const FRAME_ROW: u8 = 1;
const FRAME_FILE: u8 = 2;
const FRAME_END: u8 = 255;

/// What a segment says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentHeader {
    pub format: u32,
    /// The generation (its base's creation time).
    pub generation: i64,
    /// The op log rows it carries: `seq_from..=seq_to`.
    pub seq_from: u64,
    pub seq_to: u64,
    pub created_at: i64,
    /// SHA-256 (hex) of the object before it in the chain.
    pub previous_sha256: String,
    pub rows: u64,
    pub files: u64,
}

/// A decoded segment.
#[derive(Debug)]
pub struct Segment {
    pub header: SegmentHeader,
    pub rows: Vec<ChangedRow>,
    /// `(path under files/, bytes)`.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The object's name: ordered by where it starts, then where it ends.
pub fn object_name(generation: i64, seq_from: u64, seq_to: u64) -> String {
    format!("generations/{generation:012}/seg-{seq_from:020}-{seq_to:020}.hfs")
}

/// Seals a segment under the keyring; answers the object's bytes and their SHA-256 (hex).
pub fn seal(segment: &Segment, keys: &Keyring) -> Result<(Vec<u8>, String), BackupError> {
    let mut plain = Vec::new();
    let header = serde_json::to_vec(&segment.header).map_err(|e| BackupError::Corrupt(e.to_string()))?;
    plain.extend_from_slice(&(header.len() as u32).to_be_bytes());
    plain.extend_from_slice(&header);
    for (table, key, value) in &segment.rows {
        plain.push(FRAME_ROW);
        plain.push(table.len() as u8);
        plain.extend_from_slice(table.as_bytes());
        put_bytes(&mut plain, key);
        match value {
            Some(value) => {
                plain.push(1);
                put_bytes(&mut plain, value);
            }
            None => plain.push(0),
        }
    }
    for (path, bytes) in &segment.files {
        plain.push(FRAME_FILE);
        put_bytes(&mut plain, path.as_bytes());
        put_bytes(&mut plain, bytes);
    }
    plain.push(FRAME_END);
    let mut writer = keys.writer(Vec::new())?;
    std::io::Write::write_all(&mut writer, &plain)?;
    let sealed = writer.finish()?;
    let digest = hex::encode(Sha256::digest(&sealed));
    Ok((sealed, digest))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Opens and checks a segment's bytes.
pub fn open(sealed: &[u8], keys: &Keyring) -> Result<Segment, BackupError> {
    let mut reader = keys.reader(sealed)?;
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).map_err(BackupError::Io)?;
    let corrupt = |what: &str| BackupError::Corrupt(format!("segment: {what}"));
    let mut input = plain.as_slice();
    let header_len = take_u32(&mut input).ok_or_else(|| corrupt("no header"))? as usize;
    let header = take(&mut input, header_len).ok_or_else(|| corrupt("short header"))?;
    let header: SegmentHeader = serde_json::from_slice(header).map_err(|e| corrupt(&e.to_string()))?;
    let (mut rows, mut files) = (Vec::new(), Vec::new());
    loop {
        let (&kind, rest) = input.split_first().ok_or_else(|| corrupt("truncated"))?;
        input = rest;
        match kind {
            FRAME_ROW => {
                let (&len, rest) = input.split_first().ok_or_else(|| corrupt("truncated row"))?;
                input = rest;
                let table = take(&mut input, len as usize).ok_or_else(|| corrupt("truncated row"))?;
                let table = String::from_utf8(table.to_vec()).map_err(|_| corrupt("table name"))?;
                let key = take_bytes(&mut input).ok_or_else(|| corrupt("truncated key"))?;
                let (&present, rest) = input.split_first().ok_or_else(|| corrupt("truncated row"))?;
                input = rest;
                let value = match present {
                    1 => Some(take_bytes(&mut input).ok_or_else(|| corrupt("truncated value"))?),
                    _ => None,
                };
                rows.push((table, key, value));
            }
            FRAME_FILE => {
                let path = take_bytes(&mut input).ok_or_else(|| corrupt("truncated file"))?;
                let path = String::from_utf8(path).map_err(|_| corrupt("file path"))?;
                if path.contains("..") || path.starts_with('/') {
                    return Err(corrupt("a file path leaves the files directory"));
                }
                files.push((path, take_bytes(&mut input).ok_or_else(|| corrupt("truncated file"))?));
            }
            FRAME_END if input.is_empty() => break,
            _ => return Err(corrupt("unknown frame")),
        }
    }
    if rows.len() as u64 != header.rows || files.len() as u64 != header.files {
        return Err(corrupt("counts differ from the header"));
    }
    Ok(Segment { header, rows, files })
}

fn take<'a>(input: &mut &'a [u8], len: usize) -> Option<&'a [u8]> {
    let (head, rest) = input.split_at_checked(len)?;
    *input = rest;
    Some(head)
}

fn take_u32(input: &mut &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(take(input, 4)?.try_into().ok()?))
}

fn take_bytes(input: &mut &[u8]) -> Option<Vec<u8>> {
    let len = take_u32(input)? as usize;
    take(input, len).map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::app::backup::format::Header;

    fn keyring(passphrase: &str) -> Keyring {
        let cheap = Header { memory_kib: 8, passes: 1, ..Header::fresh() };
        Keyring::with_costs(SecretString::from(passphrase.to_owned()), cheap)
    }

    #[test]
    fn segments_round_trip_and_refuse_a_wrong_passphrase() {
        let keys = keyring("correct harbour lantern");
        let segment = Segment {
            header: SegmentHeader {
                format: 1,
                generation: 100,
                seq_from: 5,
                seq_to: 9,
                created_at: 130,
                previous_sha256: "ab".repeat(32),
                rows: 2,
                files: 1,
            },
            rows: vec![("records".into(), vec![1, 2], Some(vec![3])), ("settings".into(), b"x".to_vec(), None)],
            files: vec![("blob-1".into(), vec![9; 10])],
        };
        let (sealed, digest) = seal(&segment, &keys).unwrap();
        assert_eq!(digest.len(), 64);
        // A keyring of the same passphrase but another salt opens it (deriving the sealed salt).
        let opened = open(&sealed, &keyring("correct harbour lantern")).unwrap();
        assert_eq!(opened.header, segment.header);
        assert_eq!(opened.rows, segment.rows);
        assert_eq!(opened.files, segment.files);
        assert!(open(&sealed, &keyring("another passphrase")).is_err());
        // The same keyring seals the same segment differently each time: one salt, a fresh nonce prefix.
        let (again, _) = seal(&segment, &keys).unwrap();
        assert_eq!(sealed[23..39], again[23..39], "one salt per keyring");
        assert_ne!(sealed[39..46], again[39..46], "a fresh nonce prefix per segment");
        assert_eq!(
            object_name(100, 5, 9),
            "generations/000000000100/seg-00000000000000000005-00000000000000000009.hfs"
        );
    }
}
