//! CSS as seen by the gateway: requests are signed with Huawei `SDK-HMAC-SHA256` by a key of the
//! project in the path, and actions carry the names of the official SDK's operations.

use axum::response::{IntoResponse, Response};
use snapkeep_api_gateway::{Dialect, authenticate_huawei_project};
use snapkeep_core::{Caller, CoreError, SignedRequest, Snapkeep};

use crate::error::CssError;

#[derive(Clone, Copy)]
pub struct Css;

impl Dialect for Css {
    const NAME: &'static str = "css";
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
        CssError::from(error).into_response()
    }
}
