//! The value envelope: one format byte, a big-endian u16 schema version of the record type,
//! then the record as JSON. The version lets migrations and old backups be read forward.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{AppError, ErrorCode};

/// The only envelope format so far.
pub(crate) const FORMAT_V1: u8 = 1;

/// A record type stored in the envelope, with the schema version it is written at.
pub(crate) trait Versioned: Serialize + DeserializeOwned {
    const VERSION: u16;
}

pub(crate) fn encode<T: Versioned>(value: &T) -> Result<Vec<u8>, AppError> {
    let mut bytes = vec![FORMAT_V1];
    bytes.extend_from_slice(&T::VERSION.to_be_bytes());
    serde_json::to_writer(&mut bytes, value).map_err(|e| AppError::internal(ErrorCode::Internal, e))?;
    Ok(bytes)
}

/// The JSON of an envelope written in one of `formats` at `T`'s version (else why not).
pub(crate) fn envelope_json<'a, T: Versioned>(bytes: &'a [u8], formats: &[u8]) -> Result<&'a [u8], &'static str> {
    let [format, v1, v2, json @ ..] = bytes else { return Err("too short") };
    if !formats.contains(format) {
        return Err("unknown envelope format");
    }
    if u16::from_be_bytes([*v1, *v2]) != T::VERSION {
        return Err("record version not migrated");
    }
    Ok(json)
}

pub(crate) fn decode<T: Versioned>(bytes: &[u8]) -> Result<T, AppError> {
    let corrupt = |why: &str| AppError::internal(ErrorCode::StorageUnavailable, format!("corrupt record: {why}"));
    let json = envelope_json::<T>(bytes, &[FORMAT_V1]).map_err(corrupt)?;
    serde_json::from_slice(json).map_err(|e| corrupt(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Sample {
        name: String,
    }

    impl Versioned for Sample {
        const VERSION: u16 = 7;
    }

    #[test]
    fn golden_bytes() {
        let bytes = encode(&Sample { name: "Acme".into() }).unwrap();
        assert_eq!(bytes, b"\x01\x00\x07{\"name\":\"Acme\"}");
        assert_eq!(decode::<Sample>(&bytes).unwrap(), Sample { name: "Acme".into() });
    }

    #[test]
    fn refuses_other_formats_versions_and_garbage() {
        for bad in [&b""[..], b"\x01\x00", b"\x02\x00\x07{}", b"\x01\x00\x08{\"name\":\"x\"}", b"\x01\x00\x07{"] {
            assert_eq!(decode::<Sample>(bad).unwrap_err().code(), ErrorCode::StorageUnavailable);
        }
    }
}
