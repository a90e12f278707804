//! Bounded single-line text: trimmed, free of control characters, within a length limit.

use crate::error::{AppError, ErrorCode};

/// A required single-line value of at most `max` characters.
pub fn required_line(value: &str, max: usize, field: &'static str) -> Result<String, AppError> {
    let text = value.trim();
    if text.is_empty() {
        return Err(AppError::field(ErrorCode::Required, field));
    }
    if text.chars().count() > max {
        return Err(AppError::field(ErrorCode::TooLong, field));
    }
    if text.chars().any(char::is_control) {
        return Err(AppError::field(ErrorCode::InvalidFormat, field));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(required_line("  Acme Ltd ", 10, "name").unwrap(), "Acme Ltd");
        assert_eq!(required_line("   ", 10, "name").unwrap_err().code(), ErrorCode::Required);
        assert_eq!(required_line("abcdefghijk", 10, "name").unwrap_err().code(), ErrorCode::TooLong);
        assert_eq!(required_line("a\r\nb", 10, "name").unwrap_err().code(), ErrorCode::InvalidFormat);
    }
}
