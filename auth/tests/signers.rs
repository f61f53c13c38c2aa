//! Property tests: requests signed by signers written here, independently of the crate (as the
//! vendors' SDKs build them), verify for random methods, paths and queries with reserved and
//! non-ASCII characters, and bodies; any change to a signed part makes them fail.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use snapkeep_auth::{Acs3, HuaweiSdkHmac, RoaV1, SignedRequest};

const SECRET: &str = "s3cr3t/key+with=chars";

/// Percent-encoding by an explicit allowed set, byte by byte.
fn quote(s: &str) -> String {
    const SAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
    s.bytes()
        .map(|b| if SAFE.as_bytes().contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn hmac256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// What an SDK puts on the wire.
struct Wire {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Wire {
    fn new(method: &str, segments: &[String], query: &[(String, String)], body: Vec<u8>) -> Self {
        Self {
            method: method.to_owned(),
            path: format!("/{}", segments.iter().map(|s| quote(s)).collect::<Vec<_>>().join("/")),
            query: query.iter().map(|(k, v)| format!("{}={}", quote(k), quote(v))).collect::<Vec<_>>().join("&"),
            headers: Vec::new(),
            body,
        }
    }

    fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }

    fn authorization(&self) -> &str {
        &self.headers.iter().find(|(n, _)| n == "Authorization").unwrap().1
    }
}

fn sorted_encoded(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (quote(k), quote(v))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn huawei_sign(wire: &mut Wire, segments: &[String], query: &[(String, String)]) {
    wire.headers.push(("X-Sdk-Date".into(), "20261123T123215Z".into()));
    wire.headers.push(("Host".into(), "127.0.0.1:8080".into()));
    let mut uri: String = segments.iter().map(|s| quote(s)).collect::<Vec<_>>().join("/");
    uri = format!("/{uri}/");
    let canonical = format!(
        "{}\n{uri}\n{}\nhost:127.0.0.1:8080\nx-sdk-date:20261123T123215Z\n\nhost;x-sdk-date\n{}",
        wire.method,
        sorted_encoded(query),
        hex::encode(Sha256::digest(&wire.body))
    );
    let to_sign = format!("SDK-HMAC-SHA256\n20261123T123215Z\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let signature = hex::encode(hmac256(SECRET.as_bytes(), &to_sign));
    wire.headers.push((
        "Authorization".into(),
        format!("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature={signature}"),
    ));
}

fn acs3_sign(wire: &mut Wire, query: &[(String, String)]) {
    let body_hash = hex::encode(Sha256::digest(&wire.body));
    wire.headers.push(("host".into(), "127.0.0.1:8080".into()));
    wire.headers.push(("x-acs-action".into(), "CreateSnapshot".into()));
    wire.headers.push(("x-acs-content-sha256".into(), body_hash.clone()));
    wire.headers.push(("x-acs-date".into(), "2026-11-23T12:32:15Z".into()));
    let canonical = format!(
        "{}\n{}\n{}\nhost:127.0.0.1:8080\nx-acs-action:CreateSnapshot\nx-acs-content-sha256:{body_hash}\nx-acs-date:2026-11-23T12:32:15Z\n\nhost;x-acs-action;x-acs-content-sha256;x-acs-date\n{body_hash}",
        wire.method,
        wire.path,
        sorted_encoded(query)
    );
    let to_sign = format!("ACS3-HMAC-SHA256\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let signature = hex::encode(hmac256(SECRET.as_bytes(), &to_sign));
    wire.headers.push((
        "Authorization".into(),
        format!("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date,Signature={signature}"),
    ));
}

fn roa_sign(wire: &mut Wire, query: &[(String, String)]) {
    wire.headers.push(("accept".into(), "application/json".into()));
    wire.headers.push(("date".into(), "Mon, 23 Nov 2026 12:32:15 GMT".into()));
    wire.headers.push(("x-acs-signature-nonce".into(), "n-1".into()));
    wire.headers.push(("x-acs-version".into(), "2017-06-13".into()));
    let mut pairs: Vec<(String, String)> = query.to_vec();
    pairs.sort();
    let resource = if pairs.is_empty() {
        wire.path.clone()
    } else {
        let joined: Vec<String> =
            pairs.iter().map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") }).collect();
        format!("{}?{}", wire.path, joined.join("&"))
    };
    let to_sign = format!(
        "{}\napplication/json\n\n\nMon, 23 Nov 2026 12:32:15 GMT\nx-acs-signature-nonce:n-1\nx-acs-version:2017-06-13\n{resource}",
        wire.method
    );
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    wire.headers.push(("Authorization".into(), format!("acs AK:{signature}")));
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
        huawei_sign(&mut wire, &segments, &q);
        let parsed = HuaweiSdkHmac::parse(wire.authorization()).unwrap();
        prop_assert_eq!(parsed.verify(&wire.request(), SECRET.as_bytes()), Ok(()));
        wire.body.push(b'x');
        prop_assert!(parsed.verify(&wire.request(), SECRET.as_bytes()).is_err());
    }

    #[test]
    fn acs3_signatures_verify_and_tampering_fails(m in method(), segments in prop::collection::vec(text(), 1..4), q in query(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut wire = Wire::new(m, &segments, &q, body);
        acs3_sign(&mut wire, &q);
        let parsed = Acs3::parse(wire.authorization()).unwrap();
        prop_assert_eq!(parsed.verify(&wire.request(), SECRET.as_bytes()), Ok(()));
        wire.path.push('x');
        prop_assert!(parsed.verify(&wire.request(), SECRET.as_bytes()).is_err());
    }

    #[test]
    fn roa_v1_signatures_verify_and_tampering_fails(m in method(), segments in prop::collection::vec(text(), 1..4), q in query()) {
        let mut wire = Wire::new(m, &segments, &q, Vec::new());
        roa_sign(&mut wire, &q);
        let parsed = RoaV1::parse(wire.authorization()).unwrap();
        prop_assert_eq!(parsed.verify(&wire.request(), SECRET.as_bytes()), Ok(()));
        prop_assert!(parsed.verify(&wire.request(), b"another secret").is_err());
        wire.path.push('x');
        prop_assert!(parsed.verify(&wire.request(), SECRET.as_bytes()).is_err());
    }
}
