//! The RoaV1 canonicalisation on arbitrary requests (paths, queries and headers with any bytes,
//! percent signs and separators), under a fixed valid Authorization header: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapkeep_auth::RoaV1;
use snapkeep_fuzz::FuzzRequest;

fuzz_target!(|request: FuzzRequest| {
    let header = RoaV1::parse("acs AK:AAAAAAAAAAAAAAAAAAAAAAAAAAA=").expect("a valid header");
    let _ = header.verify(&request.signed(), b"secret");
});
