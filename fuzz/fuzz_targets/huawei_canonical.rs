//! The HuaweiSdkHmac canonicalisation on arbitrary requests (paths, queries and headers with any bytes,
//! percent signs and separators), under a fixed valid Authorization header: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapkeep_auth::HuaweiSdkHmac;
use snapkeep_fuzz::FuzzRequest;

fuzz_target!(|request: FuzzRequest| {
    let header = HuaweiSdkHmac::parse("SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-sdk-date, Signature=00").expect("a valid header");
    let _ = header.verify(&request.signed(), b"secret");
});
