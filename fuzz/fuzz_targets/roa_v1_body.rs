//! ROA v1 body binding on arbitrary bodies and Content-MD5 values: a Content-MD5 that is not the
//! MD5 of the body received is refused as `BodyMismatch`, and a body without one as
//! `UnsignedBody`, before any signature is compared.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use md5::{Digest, Md5};
use snapkeep_auth::{AuthError, RoaV1, SignedRequest};

fuzz_target!(|input: (Vec<u8>, Option<String>)| {
    let (body, content_md5) = input;
    let header = RoaV1::parse("acs AK:AAAA").expect("valid");
    let headers: Vec<(String, String)> = content_md5.iter().map(|m| ("Content-MD5".to_owned(), m.clone())).collect();
    let request = SignedRequest { method: "POST", path: "/p", query: "", headers: &headers, body: &body };
    let verdict = header.verify(&request, b"secret");
    let actual = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&body));
    match &content_md5 {
        Some(claimed) if claimed.trim() != actual => assert_eq!(verdict, Err(AuthError::BodyMismatch("Content-MD5"))),
        None if !body.is_empty() => assert_eq!(verdict, Err(AuthError::UnsignedBody)),
        _ => assert_ne!(verdict, Ok(()), "a fixed signature of three zero bytes never matches"),
    }
});
