//! One id per request, given to the client in `X-Request-Id` (and by the dialects in their own
//! places), written in the logs' request span and in the audit log.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

tokio::task_local! {
    static REQUEST_ID: Uuid;
}

/// The id of the request being answered (a new one outside a request).
pub fn request_id() -> Uuid {
    REQUEST_ID.try_with(|id| *id).unwrap_or_else(|_| Uuid::new_v4())
}

/// The outermost middleware: gives the request its id and the answer its `X-Request-Id`.
pub async fn with_request_id(request: Request, next: Next) -> Response {
    let id = Uuid::new_v4();
    let span = tracing::info_span!("request", request_id = %id.simple());
    let mut response = REQUEST_ID.scope(id, next.run(request).instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&id.simple().to_string()) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
