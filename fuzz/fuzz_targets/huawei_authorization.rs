//! The HuaweiSdkHmac Authorization-header parser on arbitrary text: it answers, never panics, and a
//! header it accepts verifies (or not) against an arbitrary request without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapkeep_auth::HuaweiSdkHmac;
use snapkeep_fuzz::FuzzRequest;

fuzz_target!(|input: (String, FuzzRequest)| {
    let (header, request) = input;
    if let Ok(parsed) = HuaweiSdkHmac::parse(&header) {
        let _ = parsed.verify(&request.signed(), b"secret");
    }
});
