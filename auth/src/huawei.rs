//! Huawei Cloud `SDK-HMAC-SHA256` (huaweicloudsdkcore `signer.py`, Go `core/auth/signer`).
//!
//! `Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=a;b, Signature=<hex>`;
//! canonical request = METHOD, URI (each segment decoded then encoded, always ending in `/`),
//! sorted query, the signed headers `name:trimmed value` in list order, the list, and the body's
//! hex SHA-256. The SDKs put an `X-Sdk-Content-Sha256` value there instead when they send one;
//! here the hash is always the received body's, and such a header must equal it, so no header can
//! vouch for another body. String to sign =
//! `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex sha256(canonical)>`; signature = hex HMAC-SHA256(SK).

use crate::canonical::{check_hmac_sha256, key_values, sha256_hex, signed_headers, sorted_query};
use crate::encoding::{decode, encode};
use crate::{AuthError, SignedRequest};

const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// A parsed Huawei Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuaweiSdkHmac {
    pub access_key: String,
    pub signed_headers: Vec<String>,
    signature: String,
}

impl HuaweiSdkHmac {
    pub fn parse(authorization: &str) -> Result<Self, AuthError> {
        let rest = authorization.strip_prefix(ALGORITHM).ok_or(AuthError::Malformed("not SDK-HMAC-SHA256"))?.trim();
        let (mut access, mut signed, mut signature) = (None, None, None);
        for (key, value) in key_values(rest)? {
            match key {
                "Access" => access = Some(value.to_owned()),
                "SignedHeaders" => signed = Some(value.split(';').map(str::to_ascii_lowercase).collect::<Vec<_>>()),
                "Signature" => signature = Some(value.to_ascii_lowercase()),
                _ => return Err(AuthError::Malformed("unknown part")),
            }
        }
        match (access, signed, signature) {
            (Some(access_key), Some(signed_headers), Some(signature))
                if !access_key.is_empty() && !signed_headers.is_empty() =>
            {
                Ok(Self { access_key, signed_headers, signature })
            }
            _ => Err(AuthError::Malformed("Access, SignedHeaders and Signature are required")),
        }
    }

    /// The signature as sent (lowercase hex): what identifies the signed request, whose scheme
    /// carries no nonce, for replay protection.
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// Checks the signature against `secret`; the `X-Sdk-Date` header must be signed.
    pub fn verify(&self, request: &SignedRequest<'_>, secret: &[u8]) -> Result<(), AuthError> {
        if !self.signed_headers.iter().any(|h| h == "x-sdk-date") {
            return Err(AuthError::Malformed("x-sdk-date must be signed"));
        }
        let date = request.header("x-sdk-date").ok_or_else(|| AuthError::MissingSignedHeader("x-sdk-date".into()))?;
        let canonical = canonical_request(request, &self.signed_headers)?;
        let to_sign = format!("{ALGORITHM}\n{date}\n{}", sha256_hex(canonical.as_bytes()));
        check_hmac_sha256(secret, &to_sign, &self.signature)
    }
}

fn canonical_request(request: &SignedRequest<'_>, signed: &[String]) -> Result<String, AuthError> {
    let mut uri: String = request.path.split('/').map(|segment| encode(&decode(segment))).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    let query = sorted_query(request.query);
    let headers = signed_headers(request, signed)?;
    let body_hash = sha256_hex(request.body);
    if request.header("x-sdk-content-sha256").is_some_and(|claimed| !claimed.eq_ignore_ascii_case(&body_hash)) {
        return Err(AuthError::BodyMismatch("X-Sdk-Content-Sha256"));
    }
    Ok(format!("{}\n{uri}\n{query}\n{headers}\n{}\n{body_hash}", request.method, signed.join(";")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a [(String, String)],
        body: &'a [u8],
    ) -> SignedRequest<'a> {
        SignedRequest { method, path, query, headers, body }
    }

    /// The published vectors of the Go SDK's `signer_test.go`.
    #[test]
    fn the_published_vectors_verify() {
        let headers = vec![("X-Sdk-Date".to_owned(), "20060102T150405Z".to_owned())];
        let get = HuaweiSdkHmac::parse("SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624").unwrap();
        get.verify(&request("GET", "/path", "limit=1", &headers, b""), b"SecretKey").unwrap();
        let post = HuaweiSdkHmac::parse("SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59").unwrap();
        post.verify(&request("POST", "/path", "key=value", &headers, b"{\"Name\":\"test\",\"Id\":1}\n"), b"SecretKey")
            .unwrap();
        assert_eq!(post.access_key, "AccessKey");
        assert_eq!(
            post.verify(&request("POST", "/path", "key=value", &headers, b"{}"), b"SecretKey"),
            Err(AuthError::Mismatch)
        );
        assert_eq!(
            get.verify(&request("GET", "/path", "limit=1", &headers, b""), b"OtherKey"),
            Err(AuthError::Mismatch)
        );
        assert_eq!(
            get.verify(&request("GET", "/path", "limit=1", &[], b""), b"SecretKey"),
            Err(AuthError::MissingSignedHeader("x-sdk-date".into()))
        );
    }

    /// A header claiming the signed body's hash does not let another body through.
    #[test]
    fn the_body_received_is_the_one_hashed() {
        let signed_body = b"{\"Name\":\"test\",\"Id\":1}\n";
        let claim = sha256_hex(signed_body);
        let headers =
            vec![("X-Sdk-Date".to_owned(), "20060102T150405Z".to_owned()), ("X-Sdk-Content-Sha256".to_owned(), claim)];
        let post = HuaweiSdkHmac::parse("SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59").unwrap();
        post.verify(&request("POST", "/path", "key=value", &headers, signed_body), b"SecretKey").unwrap();
        assert_eq!(
            post.verify(&request("POST", "/path", "key=value", &headers, b"{\"enable\":false}"), b"SecretKey"),
            Err(AuthError::BodyMismatch("X-Sdk-Content-Sha256"))
        );
        let unsigned_payload = vec![
            ("X-Sdk-Date".to_owned(), "20060102T150405Z".to_owned()),
            ("X-Sdk-Content-Sha256".to_owned(), "UNSIGNED-PAYLOAD".to_owned()),
        ];
        assert_eq!(
            post.verify(&request("POST", "/path", "key=value", &unsigned_payload, signed_body), b"SecretKey"),
            Err(AuthError::BodyMismatch("X-Sdk-Content-Sha256"))
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "Bearer x",
            "SDK-HMAC-SHA256 Access=AK",
            "SDK-HMAC-SHA256 Access=, SignedHeaders=a, Signature=b",
            "SDK-HMAC-SHA256 nonsense",
        ] {
            assert!(matches!(HuaweiSdkHmac::parse(bad), Err(AuthError::Malformed(_))), "{bad}");
        }
    }
}
