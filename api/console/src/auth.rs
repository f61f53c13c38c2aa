//! Who may see the console: a browser with a live session (its cookie `snapkeep_session`, opened
//! by a login with the admin token: HttpOnly, SameSite=Strict, Path=/console), or a script with
//! the admin token as `Authorization: Bearer`. Every change a session makes carries the session's
//! CSRF token in its form (`csrf`); a bearer call needs none (a browser never adds that header on
//! its own). Refusals render as pages: an unauthenticated one sends the browser to the login.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use snapkeep_api_gateway::Dialect;
use snapkeep_core::{AuthFailure, Caller, CoreError, SignedRequest, Snapkeep, csrf_matches, csrf_token};
use subtle::ConstantTimeEq;

use crate::error::ConsoleError;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "snapkeep_session";
/// Where the browser is sent to log in.
pub(crate) const LOGIN: &str = "/console/login";

/// The console dialect: the admin token, and whether session cookies are `Secure`.
#[derive(Clone)]
pub struct Console {
    pub(crate) token: Arc<str>,
    pub(crate) secure_cookies: bool,
}

impl Console {
    /// Whether `presented` is the admin token (compared in constant time).
    pub(crate) fn is_admin_token(&self, presented: &str) -> bool {
        !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(self.token.as_bytes()))
    }

    fn bearer<'a>(request: &'a SignedRequest<'_>) -> Option<&'a str> {
        request.header("authorization").and_then(|v| v.strip_prefix("Bearer "))
    }
}

/// The session token in a `Cookie` header: the first `snapkeep_session` (every reader of the
/// session uses this one rule).
pub(crate) fn session_token_in(cookies: &str) -> Option<&str> {
    cookies.split(';').find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

fn session_token<'a>(request: &'a SignedRequest<'_>) -> Option<&'a str> {
    session_token_in(request.header("cookie")?)
}

/// The session token of a request's headers.
pub(crate) fn session_token_of(headers: &HeaderMap) -> Option<&str> {
    session_token_in(headers.get(header::COOKIE)?.to_str().ok()?)
}

/// The `csrf` field of a urlencoded form body.
fn form_csrf(body: &[u8]) -> String {
    url::form_urlencoded::parse(body).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned()).unwrap_or_default()
}

impl Dialect for Console {
    const NAME: &'static str = "console";

    async fn authenticate(
        &self,
        core: &Snapkeep,
        request: &SignedRequest<'_>,
        _route: &str,
        _path_params: &[(String, String)],
    ) -> Result<Caller, CoreError> {
        if let Some(bearer) = Self::bearer(request) {
            return if self.is_admin_token(bearer) {
                Ok(Caller { project_id: None, access_key: "admin".to_owned(), signature: None })
            } else {
                Err(CoreError::Unauthenticated(AuthFailure::BadToken))
            };
        }
        let token = session_token(request).ok_or(CoreError::Unauthenticated(AuthFailure::NoSession))?;
        let session =
            core.session(token, &self.token).await?.ok_or(CoreError::Unauthenticated(AuthFailure::NoSession))?;
        let safe = matches!(request.method, "GET" | "HEAD" | "OPTIONS");
        if !safe && !csrf_matches(token, &form_csrf(request.body)) {
            return Err(CoreError::Unauthenticated(AuthFailure::BadCsrf));
        }
        let access_key = format!("console session {}", &session.token_hash[..12]);
        Ok(Caller { project_id: None, access_key, signature: None })
    }

    /// A request with neither a bearer token nor a session cookie is refused before its body is
    /// read.
    async fn precheck(&self, _core: &Snapkeep, request: &SignedRequest<'_>) -> Result<(), CoreError> {
        match (Self::bearer(request), session_token(request)) {
            (None, None) => Err(CoreError::Unauthenticated(AuthFailure::NoSession)),
            _ => Ok(()),
        }
    }

    fn reject(&self, error: CoreError) -> Response {
        ConsoleError::from(error).into_response()
    }
}

/// Who is looking, as the pages need it: the CSRF token their forms carry (empty for a bearer
/// caller, who needs none).
pub(crate) struct Viewer {
    pub csrf: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self { csrf: session_token_of(&parts.headers).map(csrf_token).unwrap_or_default() })
    }
}

/// The cookie of a new session: a browser-session cookie (the catalog ends the session after
/// `SESSION_LIFETIME` in any case), `Secure` when `secure`.
pub(crate) fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build()
}

/// The session cookie as `CookieJar::remove` needs it to end it in the browser.
pub(crate) fn cleared_cookie() -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE).path("/console").build()
}

/// 303 to `to`.
pub(crate) fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
