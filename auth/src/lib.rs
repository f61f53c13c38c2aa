//! Request signatures of the vendors' SDKs, verified from the bytes received: Huawei
//! `SDK-HMAC-SHA256`, Alibaba ROA v1 (`acs AK:signature`, HMAC-SHA1) and Alibaba
//! `ACS3-HMAC-SHA256`. Each scheme parses its Authorization header (naming the access key to look
//! up), rebuilds the canonical request from the request's own signed-header list and raw body, and
//! compares signatures in constant time. Percent-encoding rules are written once, in `encoding`;
//! the canonical-request parts the SHA-256 schemes share, once, in `canonical`.
//!
//! What surrounds a signature (clock skew, nonces, tenancy, key state) is the caller's.

mod acs3;
mod canonical;
mod encoding;
mod huawei;
mod roa_v1;

pub use acs3::Acs3;
pub use huawei::HuaweiSdkHmac;
pub use roa_v1::RoaV1;

/// A request as received: the raw (percent-encoded) path and query, the headers, the raw body.
#[derive(Debug, Clone)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Header names are matched case-insensitively.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header is missing")]
    Missing,
    #[error("the Authorization header is malformed: {0}")]
    Malformed(&'static str),
    #[error("a signed header is missing from the request: {0}")]
    MissingSignedHeader(String),
    #[error("the signature does not match")]
    Mismatch,
    /// A header claims a body hash (`X-Sdk-Content-Sha256`, `Content-MD5`) that the body received
    /// does not have.
    #[error("the body received is not the one signed: {0} differs")]
    BodyMismatch(&'static str),
    /// The scheme as used does not cover the body (ROA v1 without `Content-MD5`).
    #[error("the signature does not cover the body: send Content-MD5 or sign with ACS3")]
    UnsignedBody,
}

/// Compares two signatures without revealing where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
