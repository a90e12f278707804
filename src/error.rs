//! The transport-free error type: every failure a user can see carries a stable code.
//!
//! Codes never change meaning; `docs/errors.md` lists each one (a test keeps them in step).

use std::fmt;

/// Declares the code dictionary once: the enum, its text, its message and the list of all codes.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $message:literal;)*) => {
        /// A stable error code shown to users and API clients.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in dictionary order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as users see it, e.g. `E2003`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The code named by its text (`E2003`), if there is one.
            pub fn parse(code: &str) -> Option<ErrorCode> {
                Self::ALL.iter().copied().find(|c| c.as_str() == code)
            }

            /// A short, friendly sentence that reveals nothing internal.
            pub fn message(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $message,)*
                }
            }
        }
    };
}

error_codes! {
    WrongCredentials = "E1001", "Wrong email or password.";
    SecondFactorRequired = "E1002", "A second factor is required.";
    WrongCode = "E1003", "That code is wrong or has already been used.";
    SessionExpired = "E1004", "Your session has expired. Please sign in again.";
    Forbidden = "E1005", "This is not allowed for your role.";
    FormExpired = "E1006", "This form has expired. Please reload the page and try again.";
    TooManySignInFailures = "E1007", "Too many failed sign-ins. Please wait and try again.";
    StepUpRequired = "E1008", "Please confirm with your second factor.";
    Required = "E2001", "A required field is missing.";
    TooLong = "E2002", "A value is too long.";
    InvalidEmail = "E2003", "That email address is not valid.";
    InvalidFormat = "E2004", "A value has an invalid format.";
    FileTypeNotAllowed = "E2005", "That file type is not allowed.";
    FileTooLarge = "E2006", "That file is too large.";
    WeakPassword = "E2007", "That password is too weak or too common.";
    /// The virus scanner found something: the file was refused and nothing kept.
    FileInfected = "E2008", "That file looks infected and was refused.";
    /// An unexpected failure inside the server; details are in the log under the request id.
    Internal = "E3000", "Something went wrong on our side.";
    StorageUnavailable = "E3001", "Storage is unavailable right now.";
    NotFound = "E3002", "Not found.";
    /// A virus scanner is configured but could not check the file: refused, nothing kept.
    ScannerUnavailable = "E3003", "Files can't be checked for viruses right now. Please try again later.";
    TooManyRequests = "E4001", "Too many requests. Please slow down.";
    RequestTooLarge = "E4002", "The request is too large.";
    /// The request took longer than the server allows.
    Timeout = "E4003", "The request took too long.";
    /// The route exists but not for this HTTP method.
    MethodNotAllowed = "E4004", "This method is not allowed here.";
    /// Sending email failed: the SMTP server could not be reached, or refused the message.
    EmailFailed = "E4005", "The email server could not be reached or refused the message.";
    Duplicate = "E5001", "This record already exists.";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with a code for the user, an optional field it concerns, and internal detail
/// that is logged once (with the request id) but never shown.
pub struct AppError {
    code: ErrorCode,
    field: Option<&'static str>,
    detail: Option<String>,
    hint: Option<String>,
}

impl AppError {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, field: None, detail: None, hint: None }
    }

    /// An error about one input field (the form marks it).
    pub fn field(code: ErrorCode, field: &'static str) -> Self {
        Self { code, field: Some(field), detail: None, hint: None }
    }

    /// An unexpected failure; `detail` goes to the log only.
    pub fn internal(code: ErrorCode, detail: impl fmt::Display) -> Self {
        Self { code, field: None, detail: Some(detail.to_string()), hint: None }
    }

    /// Adds what the person at the form can do about it, in place of the code's general
    /// message. It may quote what they typed, so it is shown to them and never logged.
    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        Self { hint: Some(hint.into()), ..self }
    }

    /// The sentence for the person at the form, if more specific than the code's message.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn field_name(&self) -> Option<&'static str> {
        self.field
    }

    /// Internal detail for the log; never for a response body.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

/// The hint may quote what a person typed (a password's words): never printed.
impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppError")
            .field("code", &self.code)
            .field("field", &self.field)
            .field("detail", &self.detail)
            .field("hint", &self.hint.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code.message(), self.code)
    }
}

impl std::error::Error for AppError {}

impl From<ErrorCode> for AppError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(text.len() == 5 && text.starts_with('E') && text[1..].bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../docs/errors.md");
        for code in ErrorCode::ALL {
            assert!(doc.contains(&format!("| {} |", code.as_str())), "{code} is missing from docs/errors.md");
        }
    }
}
