//! The parts of a canonical request the SHA-256 schemes (Huawei `SDK-HMAC-SHA256`, Alibaba
//! `ACS3-HMAC-SHA256`) build alike: the header's `key=value` list, the sorted query, the signed
//! headers, the body hash, and the HMAC-SHA256 check.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::encoding::{encode, query_pairs};
use crate::{AuthError, SignedRequest, same};

/// `Key=value` parts separated by commas (spaces around them allowed).
pub fn key_values(rest: &str) -> Result<Vec<(&str, &str)>, AuthError> {
    rest.split(',')
        .map(|part| part.trim().split_once('=').ok_or(AuthError::Malformed("expected key=value parts")))
        .collect()
}

/// The query sorted by key (then value), keys and values decoded and then percent-encoded.
pub fn sorted_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> =
        query_pairs(query).into_iter().map(|(k, v)| (encode(&k), encode(&v))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// `name:trimmed value\n` for each signed header, in the given order.
pub fn signed_headers(request: &SignedRequest<'_>, signed: &[String]) -> Result<String, AuthError> {
    let mut headers = String::new();
    for name in signed {
        let value = request.header(name).ok_or_else(|| AuthError::MissingSignedHeader(name.clone()))?;
        headers.push_str(&format!("{name}:{}\n", value.trim()));
    }
    Ok(headers)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `signature` (lowercase hex) is HMAC-SHA256(secret, to_sign), in constant time.
pub fn check_hmac_sha256(secret: &[u8], to_sign: &str, signature: &str) -> Result<(), AuthError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(to_sign.as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    if same(expected.as_bytes(), signature.as_bytes()) { Ok(()) } else { Err(AuthError::Mismatch) }
}
