//! How `AppError` becomes an HTTP answer: `HtmlError` for pages, `ApiError` for the JSON API.
//!
//! Both only set the status and attach an [`ErrorReport`]; the error-page layer renders the body
//! (it knows the request id and CSP nonce) and logs internal detail once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, ErrorCode};

/// Which body the error-page layer renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    Html,
    Problem,
}

/// Attached to error responses as an extension; rendered by `layers::error_pages`.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub code: ErrorCode,
    /// What the user was doing, e.g. "save contact" → "Unable to save contact (E2003)".
    pub action: Option<&'static str>,
    pub field: Option<&'static str>,
    /// Internal detail for the log only.
    pub detail: Option<String>,
    /// What the user can do about it, safe to show (e.g. the type a refused file was).
    pub hint: Option<String>,
    pub format: ErrorFormat,
}

impl ErrorReport {
    fn from_error(error: AppError, action: Option<&'static str>, format: ErrorFormat) -> Self {
        Self {
            code: error.code(),
            action,
            field: error.field_name(),
            detail: error.detail().map(str::to_owned),
            hint: error.hint().map(str::to_owned),
            format,
        }
    }

    /// A report for a bare status produced outside our handlers (routing, limits, timeouts).
    pub fn for_status(status: StatusCode, format: ErrorFormat) -> Self {
        let code = match status {
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::RequestTooLarge,
            StatusCode::REQUEST_TIMEOUT => ErrorCode::Timeout,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::TooManyRequests,
            StatusCode::UNAUTHORIZED => ErrorCode::SessionExpired,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::StorageUnavailable,
            s if s.is_client_error() => ErrorCode::InvalidFormat,
            _ => ErrorCode::Internal,
        };
        Self { code, action: None, field: None, detail: None, hint: None, format }
    }
}

/// The HTTP status for each code (exhaustive: a new code must choose one).
pub fn status_for(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        WrongCredentials | SecondFactorRequired | WrongCode | SessionExpired => StatusCode::UNAUTHORIZED,
        Forbidden | FormExpired | StepUpRequired => StatusCode::FORBIDDEN,
        TooManySignInFailures | TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Required | TooLong | InvalidEmail | InvalidFormat | WeakPassword => StatusCode::UNPROCESSABLE_ENTITY,
        FileTypeNotAllowed => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        FileTooLarge | RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        FileInfected => StatusCode::UNPROCESSABLE_ENTITY,
        ScannerUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
        StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        NotFound => StatusCode::NOT_FOUND,
        Timeout => StatusCode::REQUEST_TIMEOUT,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        EmailFailed => StatusCode::BAD_GATEWAY,
        Duplicate => StatusCode::CONFLICT,
    }
}

fn report_response(report: ErrorReport) -> Response {
    let mut response = status_for(report.code).into_response();
    response.extensions_mut().insert(report);
    response
}

/// An error on an HTML page.
#[derive(Debug)]
pub struct HtmlError {
    error: AppError,
    action: Option<&'static str>,
}

impl HtmlError {
    /// An error while doing `action` ("save contact").
    pub fn while_doing(action: &'static str, error: impl Into<AppError>) -> Self {
        Self { error: error.into(), action: Some(action) }
    }
}

impl<E: Into<AppError>> From<E> for HtmlError {
    fn from(error: E) -> Self {
        Self { error: error.into(), action: None }
    }
}

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        report_response(ErrorReport::from_error(self.error, self.action, ErrorFormat::Html))
    }
}

/// An error from the JSON API, rendered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError(AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        report_response(ErrorReport::from_error(self.0, None, ErrorFormat::Problem))
    }
}
