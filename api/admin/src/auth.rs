//! The admin API as seen by the gateway: every call carries the admin bearer token (compared in
//! constant time); actions are named after the admin operations.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use snapkeep_api_gateway::Dialect;
use snapkeep_core::{AuthFailure, Caller, CoreError, SignedRequest, Snapkeep};
use subtle::ConstantTimeEq;

use crate::error::AdminError;

/// The admin dialect, holding the expected token.
#[derive(Clone)]
pub struct Admin(pub Arc<str>);

impl Admin {
    fn check_token(&self, request: &SignedRequest<'_>) -> Result<Caller, CoreError> {
        let presented = request.header("authorization").and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
        if !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(self.0.as_bytes())) {
            Ok(Caller { project_id: None, access_key: "admin".to_owned(), signature: None })
        } else {
            Err(CoreError::Unauthenticated(AuthFailure::BadToken))
        }
    }
}

impl Dialect for Admin {
    const NAME: &'static str = "admin";
    async fn authenticate(
        &self,
        _core: &Snapkeep,
        request: &SignedRequest<'_>,
        _route: &str,
        _path_params: &[(String, String)],
    ) -> Result<Caller, CoreError> {
        self.check_token(request)
    }

    /// The token is in the headers: the whole check runs before the body is read.
    async fn precheck(&self, _core: &Snapkeep, request: &SignedRequest<'_>) -> Result<(), CoreError> {
        self.check_token(request).map(drop)
    }

    fn reject(&self, error: CoreError) -> Response {
        AdminError::from(error).into_response()
    }
}
