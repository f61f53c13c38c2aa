//! What every dialect does around its handlers, written once, as the vendors' API gateways do:
//! read the body (bounded), authenticate the caller by the dialect's scheme and hand the handler
//! a `Caller`, count and log refusals (never a secret), and record every mutating call in the
//! audit log with the outcome the caller saw. Each dialect says how it authenticates and how it
//! renders a refusal by implementing `Dialect`, and lists its routes (with its actions' names)
//! in one table (`Route`, `dialect_router`).

mod request_id;
mod routes;

use std::future::Future;

use axum::body::Body;
use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use snapkeep_core::{
    AuditEntry, AuthFailure, Caller, CoreError, RequestClaim, RequestOutcome, SignedRequest, Snapkeep,
};

pub use request_id::{request_id, with_request_id};
pub use routes::{Route, dialect_router};

use crate::routes::Actions;

/// The largest request body a dialect reads.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The error code a dialect answered with, carried in the response's extensions for the audit.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// What a call created that its path does not name (a registered cluster's id, a new snapshot's
/// id), carried in the response's extensions: the audit entry's target ends with it.
#[derive(Debug, Clone)]
pub struct Created(pub String);

impl Created {
    /// `response` marked as having created `id`.
    pub fn mark(mut response: Response, id: &str) -> Response {
        response.extensions_mut().insert(Self(id.to_owned()));
        response
    }
}

/// What a dialect tells the gateway: its name, its actions, how it authenticates and renders.
pub trait Dialect: Clone + Send + Sync + 'static {
    /// The name in the audit log, the metrics and the logs.
    const NAME: &'static str;

    /// Who signed `request` to `route` (the matched template); `path_params` are its parameters.
    fn authenticate(
        &self,
        core: &Snapkeep,
        request: &SignedRequest<'_>,
        route: &str,
        path_params: &[(String, String)],
    ) -> impl Future<Output = Result<Caller, CoreError>> + Send;

    /// What the headers alone tell, checked before the body is read (`Snapkeep::precheck_signature`
    /// for signed dialects): a refusal here costs the server no body.
    fn precheck(
        &self,
        core: &Snapkeep,
        request: &SignedRequest<'_>,
    ) -> impl Future<Output = Result<(), CoreError>> + Send {
        core.precheck_signature(request)
    }

    /// An error in the dialect's own format.
    fn reject(&self, error: CoreError) -> Response;

    /// How the dialect shows a request id.
    fn show_request_id(&self, id: uuid::Uuid) -> String {
        id.simple().to_string()
    }
}

/// Authenticates a Huawei-signed request (CSS, DWS) by a key of the project in its path.
pub async fn authenticate_huawei_project(
    core: &Snapkeep,
    request: &SignedRequest<'_>,
    path_params: &[(String, String)],
) -> Result<Caller, CoreError> {
    let project = path_params.iter().find(|(k, _)| k == "project_id").map(|(_, v)| v.as_str());
    let project = project.ok_or(CoreError::Unauthenticated(AuthFailure::ProjectMismatch))?;
    core.authenticate_huawei(request, project).await
}

/// An error in the envelope Huawei's APIs answer with (CSS and DWS alike): `error_code` and
/// `error_msg`, the older `errCode` and `externalMessage`, and the request id. The code rides in
/// the response's extensions for the audit log.
pub fn huawei_error(status: StatusCode, code: &'static str, message: &str) -> Response {
    let body = serde_json::json!({
        "error_code": code,
        "error_msg": message,
        "errCode": code,
        "externalMessage": format!("{code} : {message}"),
        "request_id": request_id().simple().to_string(),
    });
    let mut response = (status, axum::Json(body)).into_response();
    response.extensions_mut().insert(ErrorCode(code));
    response
}

/// An authentication refusal as Huawei's API gateway answers it: status, `APIGW.*` code, message.
pub fn huawei_refusal(failure: &AuthFailure) -> (StatusCode, &'static str, String) {
    match failure {
        AuthFailure::ProjectMismatch => (
            StatusCode::FORBIDDEN,
            "APIGW.0302",
            format!("The IAM user is not authorized to access the API: {failure}."),
        ),
        _ => (StatusCode::UNAUTHORIZED, "APIGW.0301", format!("Incorrect IAM authentication information: {failure}.")),
    }
}

/// The state of the guard: the core, the dialect and the names of its actions.
#[derive(Clone)]
struct Gateway<D> {
    core: Snapkeep,
    dialect: D,
    actions: Actions,
}

/// The guard of a dialect's routes, applied with `Router::route_layer` (so the route is known)
/// by `dialect_router`.
async fn guard<D: Dialect>(
    State(gateway): State<Gateway<D>>,
    route: MatchedPath,
    params: RawPathParams,
    request: Request,
    next: Next,
) -> Response {
    let params: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    gateway.pass(route.as_str(), params, request, next).await
}

impl<D: Dialect> Gateway<D> {
    fn new(core: Snapkeep, dialect: D, actions: Actions) -> Self {
        Self { core, dialect, actions }
    }

    async fn pass(&self, route: &str, params: Vec<(String, String)>, request: Request, next: Next) -> Response {
        let (mut parts, body) = request.into_parts();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let head = SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            headers: &headers,
            body: &[],
        };
        if let Err(error) = self.dialect.precheck(&self.core, &head).await {
            return self.refuse(&parts.method, route, error);
        }
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            let message = format!("the request body is larger than {MAX_BODY_BYTES} bytes or was cut off");
            return self.dialect.reject(CoreError::Invalid { field: "body", message });
        };
        let signed = SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            headers: &headers,
            body: &bytes,
        };
        let caller = match self.dialect.authenticate(&self.core, &signed, route, &params).await {
            Ok(caller) => caller,
            Err(error) => return self.refuse(&parts.method, route, error),
        };
        parts.extensions.insert(caller.clone());
        let method = parts.method.clone();
        // A scheme without a nonce: a mutating request is executed once, its replays get its answer.
        let replay = caller.signature.clone().filter(|_| is_mutating(&method));
        if let Some(signature) = &replay {
            match self.core.claim_request(&caller, signature).await {
                Ok(RequestClaim::New) => {}
                Ok(RequestClaim::Running) => return self.dialect.reject(CoreError::RequestRunning),
                Ok(RequestClaim::Answered(outcome)) => return replayed(outcome),
                Err(error) => return self.dialect.reject(error),
            }
        }
        let mut response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            response = self.method_not_allowed(&method, route, response);
        }
        if let Some(signature) = &replay {
            response = self.remember(&caller, signature, response).await;
        }
        if is_mutating(&method) {
            let entry = self.audit_entry(&method, route, &params, caller, &response);
            self.core.record_audit(entry).await;
        }
        response
    }

    /// Records the answer of a claimed request, and gives it on.
    async fn remember(&self, caller: &Caller, signature: &str, response: Response) -> Response {
        let (parts, body) = response.into_parts();
        // Handlers answer from memory (a few hundred bytes): reading the body holds nothing more.
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(dialect = D::NAME, error = %e, "a handler's answer could not be read; it is not remembered");
                return (StatusCode::INTERNAL_SERVER_ERROR, format!("the answer could not be read: {e}"))
                    .into_response();
            }
        };
        let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let outcome = RequestOutcome { status: parts.status.as_u16(), content_type, body: bytes.to_vec() };
        self.core.record_outcome(caller, signature, &outcome).await;
        Response::from_parts(parts, Body::from(bytes))
    }

    /// A method the route does not take, answered in the dialect's error format (the router
    /// answers an empty body), keeping its `Allow` header and status 405.
    fn method_not_allowed(&self, method: &Method, route: &str, routed: Response) -> Response {
        let allow = routed.headers().get(header::ALLOW).cloned();
        let message = format!("{method} is not taken on {route}");
        let mut response = self.dialect.reject(CoreError::Invalid { field: "method", message });
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        response
    }

    fn refuse(&self, method: &Method, route: &str, error: CoreError) -> Response {
        if let CoreError::Unauthenticated(failure) = &error {
            self.core.metrics().count_auth_failure(D::NAME, failure.reason());
            tracing::warn!(dialect = D::NAME, %method, route, reason = failure.reason(), "request refused: {failure}");
        } else {
            tracing::warn!(dialect = D::NAME, %method, route, error = %error, "request refused before authentication");
        }
        self.dialect.reject(error)
    }

    fn audit_entry(
        &self,
        method: &Method,
        route: &str,
        params: &[(String, String)],
        caller: Caller,
        response: &Response,
    ) -> AuditEntry {
        let status = response.status();
        let outcome = match response.extensions().get::<ErrorCode>() {
            _ if status.is_success() || status.is_redirection() => "ok".to_owned(),
            Some(ErrorCode(code)) => (*code).to_owned(),
            None => status.as_u16().to_string(),
        };
        let mut target: Vec<&str> = params.iter().filter(|(k, _)| k != "project_id").map(|(_, v)| v.as_str()).collect();
        if let Some(Created(id)) = response.extensions().get::<Created>() {
            target.push(id);
        }
        let action = self.actions.name(method, route);
        AuditEntry {
            id: 0,
            at: self.core.now(),
            dialect: D::NAME.to_owned(),
            project_id: caller.project_id,
            access_key: caller.access_key,
            action,
            target: target.join("/"),
            status: status.as_u16(),
            outcome,
            request_id: self.dialect.show_request_id(request_id()),
        }
    }
}

/// The first answer of a request, given again to its replay.
fn replayed(outcome: RequestOutcome) -> Response {
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, outcome.body).into_response();
    if let Some(value) = outcome.content_type.and_then(|t| header::HeaderValue::from_str(&t).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
