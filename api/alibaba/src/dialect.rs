//! Alibaba as seen by the gateway: requests are signed with ACS3-HMAC-SHA256 or ROA v1 by a key
//! whose project is the tenant, and actions carry the API's operation names.

use axum::response::{IntoResponse, Response};
use snapkeep_api_gateway::Dialect;
use snapkeep_core::{Caller, CoreError, SignedRequest, Snapkeep};
use uuid::Uuid;

use crate::error::{AliError, show};

#[derive(Clone, Copy)]
pub struct Alibaba;

/// CreateSnapshot: a repeated `ClientToken` gets the first call's answer (its idempotency key).
pub(crate) const CREATE_SNAPSHOT: &str = "/openapi/instances/{instance_id}/snapshots";

/// Whether the query carries a non-empty `ClientToken`.
fn has_client_token(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "ClientToken" && !v.is_empty())
}

impl Dialect for Alibaba {
    const NAME: &'static str = "alibaba";
    async fn authenticate(
        &self,
        core: &Snapkeep,
        request: &SignedRequest<'_>,
        route: &str,
        _path_params: &[(String, String)],
    ) -> Result<Caller, CoreError> {
        let answered_once = route == CREATE_SNAPSHOT && has_client_token(request.query);
        core.authenticate_alibaba(request, answered_once).await
    }

    fn reject(&self, error: CoreError) -> Response {
        AliError::from(error).into_response()
    }

    fn show_request_id(&self, id: Uuid) -> String {
        show(id)
    }
}
