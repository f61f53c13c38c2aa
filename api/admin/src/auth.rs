//! The admin bearer token, compared in constant time.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::error::AdminError;

/// The expected token, shared by the middleware.
#[derive(Clone)]
pub struct AdminToken(pub std::sync::Arc<str>);

pub async fn require_token(State(token): State<AdminToken>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(presented.as_bytes().ct_eq(token.0.as_bytes())) && !presented.is_empty() {
        next.run(request).await
    } else {
        tracing::warn!(path = %request.uri().path(), "admin call refused: missing or wrong bearer token");
        AdminError::unauthorized().into_response()
    }
}
