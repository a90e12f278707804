//! Office documents (Word, Excel and PowerPoint in their XML formats) are ZIP containers. One is
//! accepted only when its central directory — read from the file's last bytes, never by
//! unpacking anything — names the parts its type needs, holds no macros, and would not expand
//! past a bound. A zip bomb is refused by what it declares, so the work stays bounded whatever
//! it holds.

use super::sniff::FileType;
use crate::error::{AppError, ErrorCode};

/// The last bytes of an upload kept for inspection: the central directory and its end record
/// must fit in them.
pub const TAIL_BYTES: usize = 1024 * 1024;

/// At most this many entries in one document.
const MAX_ENTRIES: usize = 10_000;
/// At most this much once unpacked, all entries together.
const MAX_EXPANDED: u64 = 512 * 1024 * 1024;
/// An entry larger than a megabyte may expand at most this many times its packed size (XML
/// compresses about 10:1; bombs do 1000:1 and more).
const MAX_RATIO: u64 = 200;

const END_SIGNATURE: [u8; 4] = *b"PK\x05\x06";
const ENTRY_SIGNATURE: [u8; 4] = *b"PK\x01\x02";
const END_LEN: usize = 22;
const ENTRY_LEN: usize = 46;

/// The part every document of `file_type` has.
fn main_part(file_type: FileType) -> Option<&'static str> {
    match file_type {
        FileType::Docx => Some("word/document.xml"),
        FileType::Xlsx => Some("xl/workbook.xml"),
        FileType::Pptx => Some("ppt/presentation.xml"),
        _ => None,
    }
}

fn refuse(why: &str) -> AppError {
    AppError::field(ErrorCode::FileTypeNotAllowed, "file").with_hint(format!("This document {why}."))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?)))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?)))
}

/// Checks an office document of `size` bytes whose last bytes are `tail` (E2005 with the
/// reason when refused).
pub fn inspect(tail: &[u8], size: u64, file_type: FileType) -> Result<(), AppError> {
    let Some(main) = main_part(file_type) else { return Ok(()) };
    let unreadable = || refuse("could not be read as an office file");
    // The end record sits in the last 22 bytes plus a comment of up to 64 KiB.
    let earliest = tail.len().saturating_sub(END_LEN + usize::from(u16::MAX));
    let end = (earliest..=tail.len().saturating_sub(END_LEN))
        .rev()
        .find(|&at| tail[at..].starts_with(&END_SIGNATURE))
        .ok_or_else(unreadable)?;
    let entries = u16_at(tail, end + 10).ok_or_else(unreadable)?;
    let (directory_len, directory_at) =
        (u32_at(tail, end + 12).ok_or_else(unreadable)?, u32_at(tail, end + 16).ok_or_else(unreadable)?);
    let tail_starts = size - tail.len() as u64;
    if directory_at < tail_starts || directory_at + directory_len > tail_starts + end as u64 {
        return Err(refuse("keeps its table of contents where it can't be checked (too large or damaged)"));
    }
    let directory = &tail[(directory_at - tail_starts) as usize..end];
    let (mut at, mut expanded, mut names) = (0usize, 0u64, Vec::new());
    while at < directory.len() {
        if !directory[at..].starts_with(&ENTRY_SIGNATURE) || names.len() >= MAX_ENTRIES {
            return Err(unreadable());
        }
        let packed = u32_at(directory, at + 20).ok_or_else(unreadable)?;
        let unpacked = u32_at(directory, at + 24).ok_or_else(unreadable)?;
        let name_len = u16_at(directory, at + 28).ok_or_else(unreadable)? as usize;
        let extra_len = u16_at(directory, at + 30).ok_or_else(unreadable)? as usize;
        let comment_len = u16_at(directory, at + 32).ok_or_else(unreadable)? as usize;
        let name = directory.get(at + ENTRY_LEN..at + ENTRY_LEN + name_len).ok_or_else(unreadable)?;
        if unpacked > 1024 * 1024 && unpacked > packed.saturating_mul(MAX_RATIO) {
            return Err(refuse("expands far beyond its size (a zip bomb)"));
        }
        expanded = expanded.saturating_add(unpacked);
        names.push(String::from_utf8_lossy(name).into_owned());
        at += ENTRY_LEN + name_len + extra_len + comment_len;
    }
    if names.len() as u64 != entries {
        return Err(unreadable());
    }
    if expanded > MAX_EXPANDED {
        return Err(refuse("expands far beyond its size (a zip bomb)"));
    }
    if names.iter().any(|n| n.to_ascii_lowercase().ends_with("vbaproject.bin")) {
        return Err(refuse("contains macros, which are not allowed"));
    }
    if !names.iter().any(|n| n == "[Content_Types].xml") || !names.iter().any(|n| n == main) {
        return Err(refuse(&format!("lacks the parts of a {} ({main})", file_type.label())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_whole_zip_is_refused() {
        for bytes in [&b"PK\x03\x04 nothing else"[..], b"", &[0u8; 100]] {
            assert!(inspect(bytes, bytes.len() as u64, FileType::Docx).is_err());
        }
        let mut lying = b"PK\x03\x04".to_vec();
        lying.extend(END_SIGNATURE);
        lying.extend([0, 0, 0, 0, 1, 0, 1, 0, 46, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(inspect(&lying, lying.len() as u64, FileType::Docx).is_err(), "a directory outside the file");
        assert!(inspect(b"%PDF", 4, FileType::Pdf).is_ok(), "only office types are inspected");
    }
}
