//! Core errors as console pages, mapped in this one place: an unauthenticated request is sent to
//! the login (a page that refreshes there, and `HX-Redirect` for the page's live parts), every
//! other refusal is a page with the status and the reason.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use snapkeep_api_gateway::ErrorCode;
use snapkeep_core::{AuthFailure, CoreError, StorageError};

use crate::auth::LOGIN;
use crate::layout::bare_page;

#[derive(Debug)]
pub struct ConsoleError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ConsoleError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// A form field that is missing or unreadable.
    pub(crate) fn bad_form(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_form", message)
    }
}

impl From<CoreError> for ConsoleError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        match e {
            CoreError::Unauthenticated(AuthFailure::BadCsrf) => Self::new(S::FORBIDDEN, "bad_csrf", message),
            CoreError::Unauthenticated(_) => Self::new(S::UNAUTHORIZED, "unauthorized", message),
            CoreError::Invalid { .. }
            | CoreError::EmptyRequest
            | CoreError::InvalidPeriod(_)
            | CoreError::InvalidPrefix(_)
            | CoreError::InvalidRetention(_)
            | CoreError::UnknownStorageProfile(_) => Self::new(S::BAD_REQUEST, "invalid_argument", message),
            CoreError::NotFound(_) => Self::new(S::NOT_FOUND, "not_found", message),
            CoreError::Storage(StorageError::Unavailable(_)) => {
                Self::new(S::BAD_GATEWAY, "storage_unavailable", message)
            }
            CoreError::PresenceLapsed => Self::new(S::SERVICE_UNAVAILABLE, "unavailable", message),
            CoreError::Store(_) | CoreError::Secret(_) => {
                tracing::error!(error = %message, "internal error in a console call");
                Self::new(S::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log")
            }
            _ => Self::new(S::CONFLICT, "failed_precondition", message),
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let login = self.status == StatusCode::UNAUTHORIZED;
        let page = bare_page(
            if login { "Log in" } else { "Refused" },
            login.then_some(LOGIN),
            html! {
                h1 { (if login { "Log in to continue" } else { "The request was refused" }) }
                p.error role="alert" { (self.message) }
                p { a href=(if login { LOGIN } else { "/console/" }) { (if login { "Log in" } else { "Back to the fleet" }) } }
            },
        );
        let mut response = (self.status, page).into_response();
        if login {
            response.headers_mut().insert("hx-redirect", HeaderValue::from_static(LOGIN));
        }
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}
