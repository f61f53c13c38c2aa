//! What the signature fuzz targets share: an arbitrary request as the verifiers see it.

use arbitrary::Arbitrary;
use snapkeep_auth::SignedRequest;

#[derive(Debug, Arbitrary)]
pub struct FuzzRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl FuzzRequest {
    pub fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}
