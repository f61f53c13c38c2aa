//! Alibaba ROA v1: `Authorization: acs <AK>:base64(HMAC-SHA1(secret, StringToSign))`, where
//! StringToSign = METHOD, Accept, Content-MD5, Content-Type, Date (each on its line, empty when
//! absent), then every `x-acs-*` header as `name:value` sorted by lowercased name, then the path
//! and, when there is a query, `?` and its pairs sorted by key with **decoded** values
//! (`k=v`, or `k` when the value is empty), joined by `&`.
//!
//! The string covers the body only through `Content-MD5`: a request with a body must send it, and
//! it must be the MD5 of the body received (the older SDKs send it; the Tea SDK's ROA mode does
//! not, and is refused for calls with a body, with a message naming the way out).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

use crate::encoding::query_pairs;
use crate::{AuthError, SignedRequest, same};

/// A parsed ROA v1 Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoaV1 {
    pub access_key: String,
    signature: Vec<u8>,
}

impl RoaV1 {
    pub fn parse(authorization: &str) -> Result<Self, AuthError> {
        let rest = authorization.strip_prefix("acs ").ok_or(AuthError::Malformed("not acs AK:signature"))?;
        let (access_key, signature) =
            rest.trim().rsplit_once(':').ok_or(AuthError::Malformed("expected AK:signature"))?;
        let signature = STANDARD.decode(signature).map_err(|_| AuthError::Malformed("the signature is not base64"))?;
        if access_key.is_empty() || access_key.contains(':') {
            return Err(AuthError::Malformed("empty or invalid access key"));
        }
        Ok(Self { access_key: access_key.to_owned(), signature })
    }

    /// The signature's bytes in hex: what identifies the signed content however the header was
    /// spaced, for replay protection of requests without a nonce.
    pub fn signature_hex(&self) -> String {
        hex::encode(&self.signature)
    }

    /// Checks the body against `Content-MD5`, then the signature against `secret`.
    pub fn verify(&self, request: &SignedRequest<'_>, secret: &[u8]) -> Result<(), AuthError> {
        match request.header("content-md5") {
            Some(claimed) if claimed.trim() != STANDARD.encode(Md5::digest(request.body)) => {
                return Err(AuthError::BodyMismatch("Content-MD5"));
            }
            None if !request.body.is_empty() => return Err(AuthError::UnsignedBody),
            _ => {}
        }
        let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(Self::string_to_sign(request).as_bytes());
        if same(&mac.finalize().into_bytes(), &self.signature) { Ok(()) } else { Err(AuthError::Mismatch) }
    }
}

impl RoaV1 {
    /// What a client signs; the older SDKs compare it with the server's when a signature does
    /// not match, to tell a wrong secret from a wrongly built request.
    pub fn string_to_sign(request: &SignedRequest<'_>) -> String {
        let header = |name| request.header(name).unwrap_or_default();
        let mut out = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            request.method,
            header("accept"),
            header("content-md5"),
            header("content-type"),
            header("date")
        );
        let mut acs: Vec<(String, &str)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim()))
            .filter(|(n, _)| n.starts_with("x-acs-"))
            .collect();
        acs.sort();
        for (name, value) in acs {
            out.push_str(&format!("{name}:{value}\n"));
        }
        out.push_str(request.path);
        let mut pairs = query_pairs(request.query);
        if !pairs.is_empty() {
            pairs.sort();
            let joined: Vec<String> =
                pairs.into_iter().map(|(k, v)| if v.is_empty() { k } else { format!("{k}={v}") }).collect();
            out.push('?');
            out.push_str(&joined.join("&"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The string to sign captured from the Tea SDK's AddSnapshotRepo (request-signing.md).
    #[test]
    fn rebuilds_the_captured_string_to_sign() {
        let headers: Vec<(String, String)> = [
            ("accept", "application/json"),
            ("content-type", "application/json; charset=utf-8"),
            ("date", "Mon, 23 Nov 2026 12:27:56 GMT"),
            ("x-acs-version", "2017-06-13"),
            ("x-acs-signature-nonce", "4e85"),
            ("x-acs-action", "AddSnapshotRepo"),
            ("x-acs-signature-method", "HMAC-SHA1"),
            ("x-acs-credentials-provider", "static_ak"),
            ("x-acs-signature-version", "1.0"),
            ("host", "127.0.0.1:8080"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        let request = SignedRequest {
            method: "POST",
            path: "/openapi/instances/es-target/snapshot-repos",
            query: "",
            headers: &headers,
            body: b"{}",
        };
        assert_eq!(
            RoaV1::string_to_sign(&request),
            "POST\napplication/json\n\napplication/json; charset=utf-8\nMon, 23 Nov 2026 12:27:56 GMT\nx-acs-action:AddSnapshotRepo\nx-acs-credentials-provider:static_ak\nx-acs-signature-method:HMAC-SHA1\nx-acs-signature-nonce:4e85\nx-acs-signature-version:1.0\nx-acs-version:2017-06-13\n/openapi/instances/es-target/snapshot-repos"
        );
    }

    #[test]
    fn query_values_are_signed_decoded() {
        let request = SignedRequest {
            method: "POST",
            path: "/p",
            query: "ClientToken=tok+1%2F%C3%A4&RegionId=cn&flag=",
            headers: &[],
            body: b"",
        };
        assert!(RoaV1::string_to_sign(&request).ends_with("/p?ClientToken=tok 1/ä&RegionId=cn&flag"));
    }

    /// A body is bound through Content-MD5: another body, or a body without it, is refused.
    #[test]
    fn the_body_is_bound_through_content_md5() {
        let sign = |headers: &[(String, String)], body: &[u8]| {
            let request = SignedRequest { method: "POST", path: "/p", query: "", headers, body };
            let mut mac = Hmac::<Sha1>::new_from_slice(b"secret").unwrap();
            mac.update(RoaV1::string_to_sign(&request).as_bytes());
            RoaV1 { access_key: "AK".into(), signature: mac.finalize().into_bytes().to_vec() }
        };
        let check = |signature: &RoaV1, headers: &[(String, String)], body: &[u8]| {
            signature.verify(&SignedRequest { method: "POST", path: "/p", query: "", headers, body }, b"secret")
        };
        let body = br#"{"enable":true,"quartzRegex":"0 0 1 ? * * *"}"#;
        let md5 = vec![("Content-MD5".to_owned(), STANDARD.encode(Md5::digest(body)))];
        let signature = sign(&md5, body);
        assert_eq!(check(&signature, &md5, body), Ok(()));
        assert_eq!(check(&signature, &md5, br#"{"enable":false}"#), Err(AuthError::BodyMismatch("Content-MD5")));
        let unbound = sign(&[], body);
        assert_eq!(check(&unbound, &[], body), Err(AuthError::UnsignedBody));
        assert_eq!(check(&sign(&[], b""), &[], b""), Ok(()), "no body, nothing to bind");
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in ["", "acs", "acs AK", "acs :c2ln", "acs AK:not base64!", "ACS3-HMAC-SHA256 Credential=AK"] {
            assert!(matches!(RoaV1::parse(bad), Err(AuthError::Malformed(_))), "{bad}");
        }
    }
}
