//! The tenant of a request: the project of the access key that signed it, as the gateway
//! verified it (`dialect`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use snapkeep_core::{AuthFailure, Caller, CoreError, Snapkeep};

use crate::error::AliError;

/// The project a request acts for, as a handler argument.
pub struct Tenant(pub String);

impl FromRequestParts<Snapkeep> for Tenant {
    type Rejection = AliError;

    async fn from_request_parts(parts: &mut Parts, _core: &Snapkeep) -> Result<Self, Self::Rejection> {
        let caller = parts.extensions.get::<Caller>().and_then(|c| c.project_id.clone());
        caller.map(Tenant).ok_or_else(|| CoreError::Unauthenticated(AuthFailure::Unsigned).into())
    }
}
