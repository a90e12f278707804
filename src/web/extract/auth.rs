//! Who is asking: the session (HTML), the bearer token (API), the CSRF token for forms, and
//! the client details used in audit entries.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use super::{ClientIp, CspNonce};
use crate::app::auth::SessionStage;
use crate::app::auth::csrf::CsrfBinding;
use crate::app::auth::{AuthSession, ClientInfo, ClientScope, TenantScope};
use crate::error::ErrorCode;
use crate::web::AppState;
use crate::web::error::{ApiError, HtmlError};

/// The session resolved by the session layer (`None`: not signed in).
#[derive(Debug, Clone)]
pub struct CurrentSession(pub Option<AuthSession>);

/// The scope of a valid bearer token on this request, resolved by the session layer.
#[derive(Debug, Clone)]
pub struct CurrentApiScope(pub Option<TenantScope>);

/// What this request's CSRF tokens are bound to (set by the session layer).
#[derive(Debug, Clone)]
pub struct CsrfContext(pub CsrfBinding);

/// A fully signed-in user. Anyone else is sent where their sign-in continues: `/login`, the
/// second-factor step, or MFA enrolment — so a half-finished sign-in reaches nothing else.
#[derive(Debug, Clone)]
pub struct Authenticated(pub AuthSession);

/// Sends the browser to where its sign-in continues — or, for someone signed in to the other
/// side (a client on a firm's page, a member on the portal), answers 404: the page does not
/// exist for them.
pub enum SignInRedirect {
    To(String),
    NotHere,
}

impl SignInRedirect {
    /// To `/login`, remembering a page that was asked for with GET so sign-in returns there.
    fn to_login(parts: &Parts) -> Self {
        let wanted = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        if parts.method != axum::http::Method::GET || wanted == "/" {
            return SignInRedirect::To("/login".to_owned());
        }
        SignInRedirect::To(format!("/login?next={}", crate::web::html::encode_next(wanted)))
    }
}

impl IntoResponse for SignInRedirect {
    fn into_response(self) -> Response {
        match self {
            SignInRedirect::To(path) => Redirect::to(&path).into_response(),
            SignInRedirect::NotHere => HtmlError::from(ErrorCode::NotFound).into_response(),
        }
    }
}

/// A fully signed-in session, member or client: where an unfinished sign-in continues.
fn full_session(parts: &Parts) -> Result<AuthSession, SignInRedirect> {
    match parts.extensions.get::<CurrentSession>() {
        Some(CurrentSession(Some(session))) => match session.stage {
            SessionStage::Full => Ok(session.clone()),
            SessionStage::PendingMfa => Err(SignInRedirect::To("/login/mfa".to_owned())),
            SessionStage::MustEnroll => Err(SignInRedirect::To("/account/mfa/setup".to_owned())),
        },
        _ => Err(SignInRedirect::to_login(parts)),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = SignInRedirect;
    /// A member of the firm; a client reaches none of the firm's pages.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, SignInRedirect> {
        let session = full_session(parts)?;
        if session.client.is_some() {
            return Err(SignInRedirect::NotHere);
        }
        Ok(Authenticated(session))
    }
}

/// A signed-in client of the firm, on their company's portal.
#[derive(Debug, Clone)]
pub struct PortalClient {
    pub session: AuthSession,
    pub scope: ClientScope,
}

impl<S: Send + Sync> FromRequestParts<S> for PortalClient {
    type Rejection = SignInRedirect;
    /// A member of the firm is not a client: the portal's pages do not exist for them.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, SignInRedirect> {
        let session = full_session(parts)?;
        let scope = session.client.clone().ok_or(SignInRedirect::NotHere)?;
        Ok(PortalClient { session, scope })
    }
}

/// Whoever is signed in, by a full session or a bearer token (the download route takes
/// either: browsers follow links, scripts fetch them).
#[derive(Debug, Clone)]
pub struct Caller(pub TenantScope);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        if let Some(CurrentApiScope(Some(scope))) = parts.extensions.get::<CurrentApiScope>() {
            return Ok(Caller(scope.clone()));
        }
        match parts.extensions.get::<CurrentSession>() {
            Some(CurrentSession(Some(session))) if session.stage == SessionStage::Full => match session.client {
                Some(_) => Err(ErrorCode::NotFound.into()),
                None => Ok(Caller(session.scope.clone())),
            },
            _ => Err(ErrorCode::SessionExpired.into()),
        }
    }
}

/// A session at any stage of sign-in (for sign-out, the second-factor step and enrolment).
#[derive(Debug, Clone)]
pub struct AnySession(pub AuthSession);

impl<S: Send + Sync> FromRequestParts<S> for AnySession {
    type Rejection = SignInRedirect;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, SignInRedirect> {
        match parts.extensions.get::<CurrentSession>() {
            Some(CurrentSession(Some(session))) => Ok(AnySession(session.clone())),
            _ => Err(SignInRedirect::To("/login".to_owned())),
        }
    }
}

/// Everything a page template needs besides its own data.
#[derive(Debug, Clone)]
pub struct Page {
    pub nonce: CspNonce,
    /// A fresh masked CSRF token for this page's forms.
    pub csrf: String,
    pub session: Option<AuthSession>,
    /// The route's template (`/contacts/{id}`), which the page's speed report names.
    pub route: String,
}

impl FromRequestParts<AppState> for Page {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let nonce = CspNonce::from_request_parts(parts, state).await?;
        let session = parts
            .extensions
            .get::<CurrentSession>()
            .and_then(|c| c.0.clone())
            .filter(|s| s.stage == SessionStage::Full);
        let csrf = parts.extensions.get::<CsrfContext>().map(|c| state.app.csrf_key().token(&c.0)).unwrap_or_default();
        let route =
            parts.extensions.get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
        Ok(Page { nonce, csrf, session, route })
    }
}

/// Client address and user agent, for audit entries and the session list.
#[derive(Debug, Clone)]
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = ClientIp::from_request_parts(parts, state).await?;
        let agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
        Ok(Client(ClientInfo::new(ip.0.to_string(), agent)))
    }
}

/// An API caller authenticated by `Authorization: Bearer hf_…`.
#[derive(Debug, Clone)]
pub struct ApiScope(pub TenantScope);

impl FromRequestParts<AppState> for ApiScope {
    type Rejection = ApiError;
    /// The session layer resolved the bearer token once (no token: no scope).
    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        match parts.extensions.get::<CurrentApiScope>() {
            Some(CurrentApiScope(Some(scope))) => Ok(ApiScope(scope.clone())),
            _ => Err(ErrorCode::SessionExpired.into()),
        }
    }
}

/// A urlencoded form with our error mapping: a malformed form is E2004, never a plain-text
/// rejection.
pub struct AppForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppForm<T> {
    type Rejection = HtmlError;
    async fn from_request(request: Request, state: &S) -> Result<Self, HtmlError> {
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(AppForm(value)),
            // The rejection's text can quote a submitted value (a password, a token), so it never
            // reaches the log.
            Err(_) => {
                Err(crate::error::AppError::internal(ErrorCode::InvalidFormat, "the form could not be read").into())
            }
        }
    }
}
