//! The Acs3 Authorization-header parser on arbitrary text: it answers, never panics, and a
//! header it accepts verifies (or not) against an arbitrary request without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapkeep_auth::Acs3;
use snapkeep_fuzz::FuzzRequest;

fuzz_target!(|input: (String, FuzzRequest)| {
    let (header, request) = input;
    if let Ok(parsed) = Acs3::parse(&header) {
        let _ = parsed.verify(&request.signed(), b"secret");
    }
});
