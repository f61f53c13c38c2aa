//! Alibaba `ACS3-HMAC-SHA256` (the Tea SDK's default):
//! `Authorization: ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=a;b,Signature=<hex>`;
//! canonical request = METHOD, path, the query sorted by key with keys and values RFC 3986
//! encoded, the signed headers `name:trimmed value` sorted, the header list, and the body's hex
//! SHA-256. String to sign = `ACS3-HMAC-SHA256\n<hex sha256(canonical)>`.

use crate::canonical::{check_hmac_sha256, key_values, sha256_hex, signed_headers, sorted_query};
use crate::{AuthError, SignedRequest};

const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// A parsed ACS3 Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acs3 {
    pub access_key: String,
    pub signed_headers: Vec<String>,
    signature: String,
}

impl Acs3 {
    pub fn parse(authorization: &str) -> Result<Self, AuthError> {
        let rest = authorization.strip_prefix(ALGORITHM).ok_or(AuthError::Malformed("not ACS3-HMAC-SHA256"))?.trim();
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for (key, value) in key_values(rest)? {
            match key {
                "Credential" => credential = Some(value.to_owned()),
                "SignedHeaders" => {
                    let mut names: Vec<String> = value.split(';').map(str::to_ascii_lowercase).collect();
                    names.sort();
                    signed = Some(names);
                }
                "Signature" => signature = Some(value.to_ascii_lowercase()),
                _ => return Err(AuthError::Malformed("unknown part")),
            }
        }
        match (credential, signed, signature) {
            (Some(access_key), Some(signed_headers), Some(signature)) if !access_key.is_empty() => {
                Ok(Self { access_key, signed_headers, signature })
            }
            _ => Err(AuthError::Malformed("Credential, SignedHeaders and Signature are required")),
        }
    }

    pub fn verify(&self, request: &SignedRequest<'_>, secret: &[u8]) -> Result<(), AuthError> {
        let canonical = canonical_request(request, &self.signed_headers)?;
        let to_sign = format!("{ALGORITHM}\n{}", sha256_hex(canonical.as_bytes()));
        check_hmac_sha256(secret, &to_sign, &self.signature)
    }
}

fn canonical_request(request: &SignedRequest<'_>, signed: &[String]) -> Result<String, AuthError> {
    let query = sorted_query(request.query);
    let headers = signed_headers(request, signed)?;
    let body_hash = sha256_hex(request.body);
    Ok(format!("{}\n{}\n{query}\n{headers}\n{}\n{body_hash}", request.method, request.path, signed.join(";")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "acs AK:sig",
            "ACS3-HMAC-SHA256 Credential=AK",
            "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=00",
        ] {
            assert!(matches!(Acs3::parse(bad), Err(AuthError::Malformed(_))), "{bad}");
        }
        let parsed = Acs3::parse("ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=x-acs-date;host,Signature=AB").unwrap();
        assert_eq!(
            (parsed.access_key.as_str(), parsed.signed_headers.clone()),
            ("AK1", vec!["host".to_owned(), "x-acs-date".to_owned()])
        );
    }
}
