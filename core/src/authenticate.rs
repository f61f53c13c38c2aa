//! Who a dialect request comes from. Around the signature check itself (`snapkeep-auth`) this
//! makes the checks the vendors' gateways make, in this order: temporary credentials are refused;
//! the Authorization header names a key that exists and is active; the signing date is within the
//! allowed skew of the server's clock; the signature matches; then, for Huawei, the project in the
//! path and in `X-Project-Id` is the key's, and for Alibaba the signature nonce is new (nonces are
//! remembered in the store, so a replay is refused across restarts and replicas). ACS3 requests
//! must sign a nonce; ROA v1 requests of the older SDKs carry none, so a change signed that way is
//! remembered by its signature instead, and a read is bounded by the date window alone.
//!
//! Nothing here looks at the resource a request names: a key of another project is refused
//! before any lookup, and a resource of another tenant is then simply not found.

use chrono::{DateTime, NaiveDateTime, Utc};
use snapkeep_auth::{Acs3, AuthError, HuaweiSdkHmac, RoaV1, SignedRequest};

use crate::caller::{AuthFailure, Caller};
use crate::error::CoreError;
use crate::model::{AccessKey, KeyState};
use crate::snapkeep::Snapkeep;
use crate::store::{RequestClaim, RequestOutcome};

fn refused(failure: impl Into<AuthFailure>) -> CoreError {
    CoreError::Unauthenticated(failure.into())
}

impl Snapkeep {
    /// A Huawei `SDK-HMAC-SHA256` request to a path under `path_project`.
    pub async fn authenticate_huawei(
        &self,
        request: &SignedRequest<'_>,
        path_project: &str,
    ) -> Result<Caller, CoreError> {
        let (signature, key) = self.huawei_head(request).await?;
        signature.verify(request, self.cipher.open(&key.secret_encrypted)?.as_bytes()).map_err(refused)?;
        let header_project = request.header("x-project-id").unwrap_or(path_project);
        if key.project_id != path_project || header_project != path_project {
            return Err(refused(AuthFailure::ProjectMismatch));
        }
        let signature = Some(signature.signature().to_owned());
        Ok(Caller { project_id: Some(key.project_id), access_key: key.access_key, signature })
    }

    /// What the headers alone tell of a signed request, checked before its body is read so that an
    /// unsigned, malformed, stale or unknown-key request costs no body: the scheme's Authorization
    /// parses, its key signs now, and its date is within the skew. The signature itself (which
    /// covers the body) is checked by `authenticate_huawei` / `authenticate_alibaba` after.
    pub async fn precheck_signature(&self, request: &SignedRequest<'_>) -> Result<(), CoreError> {
        let authorization = request.header("authorization").ok_or_else(|| refused(AuthFailure::Unsigned))?;
        if authorization.starts_with("SDK-HMAC-SHA256") {
            self.huawei_head(request).await.map(drop)
        } else if authorization.starts_with("acs ") {
            self.roa_head(request, authorization).await.map(drop)
        } else if authorization.starts_with("ACS3-HMAC-SHA256") {
            self.acs3_head(request, authorization).await.map(drop)
        } else {
            Err(refused(AuthFailure::Malformed("the Authorization header names no signature scheme snapkeep verifies")))
        }
    }

    /// A Huawei request's headers: no temporary credentials, a parsed signature, its key, its date.
    async fn huawei_head(&self, request: &SignedRequest<'_>) -> Result<(HuaweiSdkHmac, AccessKey), CoreError> {
        if request.header("x-security-token").is_some() {
            return Err(refused(AuthFailure::TemporaryCredentials));
        }
        let authorization = request.header("authorization").ok_or_else(|| refused(AuthFailure::Unsigned))?;
        let signature = HuaweiSdkHmac::parse(authorization).map_err(refused)?;
        let key = self.signing_key(&signature.access_key).await?;
        let date = request.header("x-sdk-date").and_then(|d| parse_date(d, "%Y%m%dT%H%M%SZ"));
        self.check_skew(date)?;
        Ok((signature, key))
    }

    /// A ROA v1 request's headers: a parsed signature, its key, its date.
    async fn roa_head(
        &self,
        request: &SignedRequest<'_>,
        authorization: &str,
    ) -> Result<(RoaV1, AccessKey), CoreError> {
        let signature = RoaV1::parse(authorization).map_err(refused)?;
        let key = self.signing_key(&signature.access_key).await?;
        let date = request.header("date").and_then(|d| DateTime::parse_from_rfc2822(d).ok());
        self.check_skew(date.map(|d| d.to_utc()))?;
        Ok((signature, key))
    }

    /// An ACS3 request's headers: a signature signing its nonce and date, its key, its date.
    async fn acs3_head(
        &self,
        request: &SignedRequest<'_>,
        authorization: &str,
    ) -> Result<(Acs3, AccessKey), CoreError> {
        let signature = Acs3::parse(authorization).map_err(refused)?;
        if !signature.signed_headers.iter().any(|h| h == "x-acs-signature-nonce") {
            return Err(refused(AuthFailure::MissingNonce));
        }
        if !signature.signed_headers.iter().any(|h| h == "x-acs-date") {
            return Err(refused(AuthFailure::BadDate));
        }
        let key = self.signing_key(&signature.access_key).await?;
        self.check_skew(request.header("x-acs-date").and_then(|d| parse_date(d, "%Y-%m-%dT%H:%M:%SZ")))?;
        Ok((signature, key))
    }

    /// An Alibaba request signed with ACS3-HMAC-SHA256 or ROA v1. `answered_once` says the dialect
    /// answers a repeat of this very request with its first answer without doing it again (a
    /// CreateSnapshot with a `ClientToken`): an identical retry of the older SDKs, which sign ROA
    /// without a nonce, is then let through instead of being refused as a replay.
    pub async fn authenticate_alibaba(
        &self,
        request: &SignedRequest<'_>,
        answered_once: bool,
    ) -> Result<Caller, CoreError> {
        if request.header("x-acs-security-token").is_some() {
            return Err(refused(AuthFailure::TemporaryCredentials));
        }
        let authorization = request.header("authorization").ok_or_else(|| refused(AuthFailure::Unsigned))?;
        let (key, roa_signature) = if authorization.starts_with("acs ") {
            let (key, signature) = self.verify_roa(request, authorization).await?;
            (key, Some(signature))
        } else {
            (self.verify_acs3(request, authorization).await?, None)
        };
        // Replays are recognised by what was signed, never by how a header was spelled: the
        // nonce as the signature covers it (trimmed), or the signature's own bytes.
        let replay_key = match (request.header("x-acs-signature-nonce"), roa_signature) {
            (Some(nonce), _) => Some(nonce.trim().to_owned()),
            // The older SDKs sign ROA requests without a nonce: a change is then known by its
            // signature (a replay repeats it) unless a repeat is answered once; a read is bounded
            // by the date window only.
            (None, Some(signature)) if request.method != "GET" && !answered_once => {
                Some(format!("signature:{signature}"))
            }
            (None, Some(_)) => None,
            (None, None) => return Err(refused(AuthFailure::MissingNonce)),
        };
        if let Some(replay_key) = replay_key {
            self.use_nonce(&key, &replay_key).await?;
        }
        Ok(Caller { project_id: Some(key.project_id), access_key: key.access_key, signature: None })
    }

    /// ROA v1: the key, date and signature; a mismatch names the string the server signed.
    /// Returns the key and the signature's bytes in hex.
    async fn verify_roa(
        &self,
        request: &SignedRequest<'_>,
        authorization: &str,
    ) -> Result<(AccessKey, String), CoreError> {
        let (signature, key) = self.roa_head(request, authorization).await?;
        signature.verify(request, self.cipher.open(&key.secret_encrypted)?.as_bytes()).map_err(|e| match e {
            AuthError::Mismatch => refused(AuthFailure::SignatureMismatch(Some(RoaV1::string_to_sign(request)))),
            other => refused(other),
        })?;
        Ok((key, signature.signature_hex()))
    }

    /// ACS3: the nonce and date must be signed; then the key, date and signature.
    async fn verify_acs3(&self, request: &SignedRequest<'_>, authorization: &str) -> Result<AccessKey, CoreError> {
        let (signature, key) = self.acs3_head(request, authorization).await?;
        signature.verify(request, self.cipher.open(&key.secret_encrypted)?.as_bytes()).map_err(refused)?;
        Ok(key)
    }

    /// The key named by a signature, if it signs requests now.
    async fn signing_key(&self, access_key: &str) -> Result<AccessKey, CoreError> {
        let key = self.store.get_access_key(access_key).await?.ok_or_else(|| refused(AuthFailure::UnknownKey))?;
        match key.state(self.clock.now()) {
            KeyState::Active => Ok(key),
            KeyState::Disabled => Err(refused(AuthFailure::KeyDisabled)),
            KeyState::Expired => Err(refused(AuthFailure::KeyExpired)),
        }
    }

    fn check_skew(&self, signed_at: Option<DateTime<Utc>>) -> Result<(), CoreError> {
        let signed_at = signed_at.ok_or_else(|| refused(AuthFailure::BadDate))?;
        if (self.clock.now() - signed_at).abs() > self.max_skew {
            return Err(refused(AuthFailure::Expired(self.max_skew.num_minutes())));
        }
        Ok(())
    }

    /// Claims a mutating request signed without a nonce, for as long as a nonce is remembered:
    /// `New` (execute it, then `record_outcome`), `Running`, or `Answered` with its first answer.
    pub async fn claim_request(&self, caller: &Caller, signature: &str) -> Result<RequestClaim, CoreError> {
        let now = self.clock.now();
        let forget_before = now - self.max_skew * 2;
        Ok(self.store.claim_request(&caller.access_key, signature, now, forget_before).await?)
    }

    /// Records the answer a claimed request got, for its replays.
    pub async fn record_outcome(&self, caller: &Caller, signature: &str, outcome: &RequestOutcome) {
        if let Err(e) = self.store.record_outcome(&caller.access_key, signature, outcome).await {
            tracing::error!(error = %e, "could not record a request's outcome; a replay of it will be refused as running");
        }
    }

    /// Remembers a verified request's nonce for twice the skew window (a request dated at the
    /// window's far edge is refused by its date before its nonce is forgotten).
    async fn use_nonce(&self, key: &AccessKey, nonce: &str) -> Result<(), CoreError> {
        if nonce.is_empty() || nonce.len() > 160 {
            return Err(refused(AuthFailure::MissingNonce));
        }
        let now = self.clock.now();
        let forget_before = now - self.max_skew * 2;
        if self.store.remember_nonce(&key.access_key, nonce, now, forget_before).await? {
            Ok(())
        } else {
            Err(refused(AuthFailure::NonceUsed))
        }
    }
}

fn parse_date(text: &str, format: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, format).ok().map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn parses_the_date_formats_the_sdks_sign() {
        let expected = Utc.with_ymd_and_hms(2026, 11, 23, 12, 32, 15).unwrap();
        assert_eq!(parse_date("20261123T123215Z", "%Y%m%dT%H%M%SZ"), Some(expected));
        assert_eq!(parse_date("2026-11-23T12:32:15Z", "%Y-%m-%dT%H:%M:%SZ"), Some(expected));
        assert_eq!(parse_date("2026-11-23 12:32:15", "%Y-%m-%dT%H:%M:%SZ"), None);
        assert_eq!(
            DateTime::parse_from_rfc2822("Mon, 23 Nov 2026 12:32:15 GMT").map(|d| d.to_utc()).ok(),
            Some(expected)
        );
    }

    #[test]
    fn every_failure_has_its_own_metric_label() {
        let all = [
            AuthFailure::Unsigned,
            AuthFailure::Malformed("x"),
            AuthFailure::UnknownKey,
            AuthFailure::KeyDisabled,
            AuthFailure::KeyExpired,
            AuthFailure::BadDate,
            AuthFailure::Expired(15),
            AuthFailure::SignatureMismatch(None),
            AuthFailure::MissingNonce,
            AuthFailure::NonceUsed,
            AuthFailure::ProjectMismatch,
            AuthFailure::TemporaryCredentials,
            AuthFailure::BadToken,
        ];
        let labels: std::collections::HashSet<_> = all.iter().map(AuthFailure::reason).collect();
        assert_eq!(labels.len(), all.len());
    }
}
