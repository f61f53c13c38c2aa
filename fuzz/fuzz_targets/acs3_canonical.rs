//! The Acs3 canonicalisation on arbitrary requests (paths, queries and headers with any bytes,
//! percent signs and separators), under a fixed valid Authorization header: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapkeep_auth::Acs3;
use snapkeep_fuzz::FuzzRequest;

fuzz_target!(|request: FuzzRequest| {
    let header = Acs3::parse("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-date;x-acs-signature-nonce,Signature=00").expect("a valid header");
    let _ = header.verify(&request.signed(), b"secret");
});
