//! The tenant of a request: the project of the access key named in its Authorization header,
//! in either of the schemes the SDKs sign with (`ACS3-HMAC-SHA256 Credential=AK,…` or
//! `acs AK:signature`).
//!
//! This names the key; it does not verify the signature yet — that is the authentication
//! layer's job (its own issue). Until then the Alibaba dialect is for trusted networks only.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use snapkeep_core::Snapkeep;

use crate::error::AliError;

/// The access key an Authorization header names.
fn access_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    if let Some(rest) = value.strip_prefix("ACS3-HMAC-SHA256 ") {
        return rest.split(',').find_map(|part| part.trim().strip_prefix("Credential="));
    }
    value.strip_prefix("acs ")?.split(':').next()
}

/// The project a request acts for, as a handler argument.
pub struct Tenant(pub String);

impl FromRequestParts<Snapkeep> for Tenant {
    type Rejection = AliError;

    async fn from_request_parts(parts: &mut Parts, core: &Snapkeep) -> Result<Self, Self::Rejection> {
        project(core, &parts.headers).await.map(Tenant)
    }
}

async fn project(core: &Snapkeep, headers: &HeaderMap) -> Result<String, AliError> {
    let not_found =
        || AliError::new(StatusCode::BAD_REQUEST, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    let key = access_key(headers).ok_or_else(not_found)?;
    let key = core.access_key(key).await.map_err(|_| not_found())?;
    if !key.enabled {
        return Err(AliError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAccessKeyId.Inactive",
            "Specified access key is disabled.",
        ));
    }
    Ok(key.project_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn both_signing_schemes_name_their_key() {
        assert_eq!(
            access_key(&with("ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host;x-acs-date,Signature=abc")),
            Some("AK1")
        );
        assert_eq!(access_key(&with("acs AK2:c2lnbmF0dXJl")), Some("AK2"));
        assert_eq!(access_key(&with("Bearer x")), None);
        assert_eq!(access_key(&HeaderMap::new()), None);
    }
}
