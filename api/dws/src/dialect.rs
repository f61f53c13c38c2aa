//! DWS as seen by the gateway: Huawei `SDK-HMAC-SHA256` signatures by a key of the project in the
//! path, and actions named after the official SDK's operations.

use axum::response::{IntoResponse, Response};
use snapkeep_api_gateway::{Dialect, authenticate_huawei_project};
use snapkeep_core::{Caller, CoreError, SignedRequest, Snapkeep};

use crate::error::DwsError;

#[derive(Clone, Copy)]
pub struct Dws;

impl Dialect for Dws {
    const NAME: &'static str = "dws";
    async fn authenticate(
        &self,
        core: &Snapkeep,
        request: &SignedRequest<'_>,
        _route: &str,
        path_params: &[(String, String)],
    ) -> Result<Caller, CoreError> {
        authenticate_huawei_project(core, request, path_params).await
    }

    fn reject(&self, error: CoreError) -> Response {
        DwsError::from(error).into_response()
    }
}
