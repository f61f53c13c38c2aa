//! Huawei body binding on arbitrary bodies and claimed hashes: an `X-Sdk-Content-Sha256` that is
//! not the SHA-256 of the body received is always refused as `BodyMismatch`, before any signature
//! is compared, so no header can vouch for another body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use snapkeep_auth::{AuthError, HuaweiSdkHmac, SignedRequest};

fuzz_target!(|input: (Vec<u8>, String)| {
    let (body, claimed) = input;
    let header = HuaweiSdkHmac::parse("SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=00").expect("valid");
    let headers = vec![
        ("X-Sdk-Date".to_owned(), "20261130T000000Z".to_owned()),
        ("X-Sdk-Content-Sha256".to_owned(), claimed.clone()),
    ];
    let request = SignedRequest { method: "POST", path: "/p", query: "", headers: &headers, body: &body };
    let verdict = header.verify(&request, b"secret");
    if !claimed.eq_ignore_ascii_case(&hex::encode(Sha256::digest(&body))) {
        assert_eq!(verdict, Err(AuthError::BodyMismatch("X-Sdk-Content-Sha256")));
    } else {
        assert_ne!(verdict, Ok(()), "a zero signature never matches");
    }
});
