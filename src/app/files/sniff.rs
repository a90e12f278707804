//! What a file is, from its first bytes (the `infer` crate), never from its name or the type a
//! client declared, and whether the security policy allows it. SVG and HTML are never
//! allowed; an image whose first bytes also hold markup (a polyglot) is refused as HTML.

use serde::{Deserialize, Serialize};

use crate::error::{AppError, ErrorCode};

/// Bytes looked at to recognise a file (and to find markup hidden behind an image's magic).
pub const SNIFF_BYTES: usize = 8 * 1024;

/// The file types the security policy can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Jpeg,
    Png,
    Gif,
    Webp,
    Heic,
    Mp3,
    M4a,
    Wav,
    Ogg,
    Flac,
    Pdf,
    Docx,
    Xlsx,
    Pptx,
}

impl FileType {
    pub const ALL: [FileType; 14] = [
        FileType::Jpeg,
        FileType::Png,
        FileType::Gif,
        FileType::Webp,
        FileType::Heic,
        FileType::Mp3,
        FileType::M4a,
        FileType::Wav,
        FileType::Ogg,
        FileType::Flac,
        FileType::Pdf,
        FileType::Docx,
        FileType::Xlsx,
        FileType::Pptx,
    ];

    /// Images and audio: what the policy allows until an owner allows more.
    pub fn defaults() -> Vec<FileType> {
        FileType::ALL.into_iter().filter(|t| t.is_image() || t.is_audio()).collect()
    }

    /// The `Content-Type` a stored file of this type is served with.
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Gif => "image/gif",
            FileType::Webp => "image/webp",
            FileType::Heic => "image/heic",
            FileType::Mp3 => "audio/mpeg",
            FileType::M4a => "audio/mp4",
            FileType::Wav => "audio/wav",
            FileType::Ogg => "audio/ogg",
            FileType::Flac => "audio/flac",
            FileType::Pdf => "application/pdf",
            FileType::Docx => DOCX,
            FileType::Xlsx => XLSX,
            FileType::Pptx => PPTX,
        }
    }

    /// What people call it, for the settings page and refusals.
    pub fn label(self) -> &'static str {
        match self {
            FileType::Jpeg => "JPEG image",
            FileType::Png => "PNG image",
            FileType::Gif => "GIF image",
            FileType::Webp => "WebP image",
            FileType::Heic => "HEIC photo (iPhone)",
            FileType::Mp3 => "MP3 audio",
            FileType::M4a => "M4A/AAC audio",
            FileType::Wav => "WAV audio",
            FileType::Ogg => "Ogg audio",
            FileType::Flac => "FLAC audio",
            FileType::Pdf => "PDF document",
            FileType::Docx => "Word document (.docx)",
            FileType::Xlsx => "Excel workbook (.xlsx)",
            FileType::Pptx => "PowerPoint presentation (.pptx)",
        }
    }

    /// Its name in forms and the stored policy (`png`, `docx`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Jpeg => "jpeg",
            FileType::Png => "png",
            FileType::Gif => "gif",
            FileType::Webp => "webp",
            FileType::Heic => "heic",
            FileType::Mp3 => "mp3",
            FileType::M4a => "m4a",
            FileType::Wav => "wav",
            FileType::Ogg => "ogg",
            FileType::Flac => "flac",
            FileType::Pdf => "pdf",
            FileType::Docx => "docx",
            FileType::Xlsx => "xlsx",
            FileType::Pptx => "pptx",
        }
    }

    /// An office document: a ZIP container whose parts are checked before it is accepted.
    pub fn is_office(self) -> bool {
        matches!(self, FileType::Docx | FileType::Xlsx | FileType::Pptx)
    }

    /// Sound recordings.
    pub fn is_audio(self) -> bool {
        matches!(self, FileType::Mp3 | FileType::M4a | FileType::Wav | FileType::Ogg | FileType::Flac)
    }

    /// Whether a browser may show it in place (images); everything else is downloaded.
    pub fn is_image(self) -> bool {
        matches!(self, FileType::Jpeg | FileType::Png | FileType::Gif | FileType::Webp | FileType::Heic)
    }

    /// The type of a MIME name (`infer`'s names and the ones we store).
    pub fn of_mime(mime: &str) -> Option<FileType> {
        Some(match mime {
            "image/jpeg" => FileType::Jpeg,
            "image/png" => FileType::Png,
            "image/gif" => FileType::Gif,
            "image/webp" => FileType::Webp,
            "image/heif" | "image/heic" => FileType::Heic,
            "audio/mpeg" => FileType::Mp3,
            "audio/m4a" | "audio/x-m4a" | "audio/aac" | "audio/mp4" => FileType::M4a,
            "audio/x-wav" | "audio/wav" => FileType::Wav,
            "audio/ogg" => FileType::Ogg,
            "audio/x-flac" | "audio/flac" => FileType::Flac,
            "application/pdf" => FileType::Pdf,
            DOCX => FileType::Docx,
            XLSX => FileType::Xlsx,
            PPTX => FileType::Pptx,
            _ => return None,
        })
    }
}

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";

/// Markup that must not hide behind an image's magic bytes (lower case).
const MARKUP: [&[u8]; 5] = [b"<html", b"<script", b"<svg", b"<!doctype", b"<iframe"];

/// The type of a file starting with `head`, if `allowed` holds it (E2005 otherwise, naming
/// what was detected).
pub fn check(head: &[u8], allowed: &[FileType]) -> Result<FileType, AppError> {
    let refuse = |detected: &str| {
        AppError::field(ErrorCode::FileTypeNotAllowed, "file")
            .with_hint(format!("This file was recognised as {detected}, which is not allowed here."))
    };
    let Some(kind) = infer::get(head) else { return Err(refuse("nothing known")) };
    let Some(file_type) = FileType::of_mime(kind.mime_type()) else {
        return Err(refuse(&format!("{} ({})", kind.extension(), kind.mime_type())));
    };
    let lower = head.to_ascii_lowercase();
    // Office documents may hold SVG parts; their container is checked part by part instead.
    if !file_type.is_office() && MARKUP.iter().any(|m| lower.windows(m.len()).any(|w| w == *m)) {
        return Err(refuse(&format!("{} with HTML inside (a polyglot)", file_type.label())));
    }
    if !allowed.contains(&file_type) {
        return Err(refuse(file_type.label()));
    }
    Ok(file_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

    #[test]
    fn types_come_from_content_and_the_allowlist() {
        assert_eq!(check(PNG, &FileType::defaults()).unwrap(), FileType::Png);
        let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>";
        assert_eq!(check(html, &FileType::defaults()).unwrap_err().code(), ErrorCode::FileTypeNotAllowed);
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        assert!(check(svg, &FileType::ALL).is_err(), "SVG is never allowed");
        let polyglot = [&b"GIF89a\x01\0\x01\0\0\0\0;"[..], b"<script>alert(1)</script>"].concat();
        assert!(check(&polyglot, &FileType::ALL).is_err(), "a GIF with a script inside");
        assert!(check(b"%PDF-1.7\n", &FileType::defaults()).is_err(), "PDF only when allowed");
        assert_eq!(check(b"%PDF-1.7\n", &FileType::ALL).unwrap(), FileType::Pdf);
    }
}
