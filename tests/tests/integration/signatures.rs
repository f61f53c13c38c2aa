//! Property tests of the verifiers in `snapkeep-auth`: requests signed by the test-code signers
//! (written independently, as the vendors' SDKs sign) verify for random methods, paths and queries
//! with reserved and non-ASCII characters, and bodies; any change to a signed part fails them.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use snapkeep_auth::{Acs3, HuaweiSdkHmac, RoaV1, SignedRequest};
use snapkeep_tests::signers::{Key, Wire};

const KEY: Key<'static> = Key { access_key: "AK", secret: "s3cr3t/key+with=chars" };

fn request(wire: &Wire) -> SignedRequest<'_> {
    SignedRequest {
        method: &wire.method,
        path: &wire.path,
        query: &wire.query_text,
        headers: &wire.headers,
        body: &wire.body,
    }
}

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 32, 15).unwrap()
}

fn method() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"])
}

/// Path segments and query parts with reserved, space and non-ASCII characters.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ~._/?&=+%:,;#ä中-]{1,12}"
}

fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-zA-Z][a-zA-Z0-9_]{0,8}", "[a-zA-Z0-9 ~._/?&=+%:ä中-]{0,12}", 0..4)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn huawei_signatures_verify_and_tampering_fails(m in method(), segments in prop::collection::vec(text(), 1..4), q in query(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut wire = Wire::new(m, &segments, &q, body);
        wire.sign_huawei(KEY, "127.0.0.1:8080", Some("p1"), at());
        let parsed = HuaweiSdkHmac::parse(wire.authorization()).unwrap();
        prop_assert_eq!(parsed.verify(&request(&wire), KEY.secret.as_bytes()), Ok(()));
        wire.body.push(b'x');
        prop_assert!(parsed.verify(&request(&wire), KEY.secret.as_bytes()).is_err());
    }

    #[test]
    fn acs3_signatures_verify_and_tampering_fails(m in method(), segments in prop::collection::vec(text(), 1..4), q in query(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut wire = Wire::new(m, &segments, &q, body);
        wire.sign_acs3(KEY, "127.0.0.1:8080", at(), "nonce-1");
        let parsed = Acs3::parse(wire.authorization()).unwrap();
        prop_assert_eq!(parsed.verify(&request(&wire), KEY.secret.as_bytes()), Ok(()));
        wire.path.push('x');
        prop_assert!(parsed.verify(&request(&wire), KEY.secret.as_bytes()).is_err());
    }

    #[test]
    fn roa_v1_signatures_verify_and_tampering_fails(m in method(), segments in prop::collection::vec(text(), 1..4), q in query()) {
        let mut wire = Wire::new(m, &segments, &q, Vec::new());
        wire.sign_roa(KEY, at(), Some("nonce-1"));
        let parsed = RoaV1::parse(wire.authorization()).unwrap();
        prop_assert_eq!(parsed.verify(&request(&wire), KEY.secret.as_bytes()), Ok(()));
        prop_assert!(parsed.verify(&request(&wire), b"another secret").is_err());
        wire.path.push('x');
        prop_assert!(parsed.verify(&request(&wire), KEY.secret.as_bytes()).is_err());
    }
}
