//! Request signers written in test code, independently of `snapkeep-auth`, the way the vendors'
//! SDKs sign: Huawei `SDK-HMAC-SHA256`, Alibaba `ACS3-HMAC-SHA256` and ROA v1. The harness signs
//! its dialect calls with them; the property tests check the server's verifiers against them.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A key to sign with.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub access_key: &'a str,
    pub secret: &'a str,
}

/// A request as an SDK puts it on the wire: raw path segments and query pairs, and their
/// percent-encoded forms.
#[derive(Debug, Clone)]
pub struct Wire {
    pub method: String,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    /// Percent-encoded path and query, as sent.
    pub path: String,
    pub query_text: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Percent-encoding by an explicit allowed set, byte by byte.
pub fn quote(s: &str) -> String {
    const SAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
    s.bytes()
        .map(|b| if SAFE.as_bytes().contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn hmac256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Wire {
    pub fn new(method: &str, segments: &[String], query: &[(String, String)], body: Vec<u8>) -> Self {
        Self {
            method: method.to_owned(),
            segments: segments.to_vec(),
            query: query.to_vec(),
            path: format!("/{}", segments.iter().map(|s| quote(s)).collect::<Vec<_>>().join("/")),
            query_text: query.iter().map(|(k, v)| format!("{}={}", quote(k), quote(v))).collect::<Vec<_>>().join("&"),
            headers: Vec::new(),
            body,
        }
    }

    /// From a plain `path?k=v&…` whose parts need no decoding.
    pub fn plain(method: &str, path_and_query: &str, body: Vec<u8>) -> Self {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let segments: Vec<String> = path.trim_start_matches('/').split('/').map(str::to_owned).collect();
        let query: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').map_or((p.to_owned(), String::new()), |(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        Self::new(method, &segments, &query, body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Sets a header, replacing any of the same name.
    pub fn set(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    pub fn authorization(&self) -> &str {
        self.header("authorization").expect("signed")
    }

    fn sorted_encoded_query(&self) -> String {
        let mut pairs: Vec<(String, String)> = self.query.iter().map(|(k, v)| (quote(k), quote(v))).collect();
        pairs.sort();
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    }

    /// `name:value\n` for each of `names` (lower-case, sorted as given) and the `a;b` list.
    fn canonical_headers(&self, names: &[&str]) -> (String, String) {
        let lines: String =
            names.iter().map(|n| format!("{n}:{}\n", self.header(n).unwrap_or_default().trim())).collect();
        (lines, names.join(";"))
    }

    /// Huawei `SDK-HMAC-SHA256`: signs `host`, `x-sdk-date`, and `content-type` and
    /// `x-project-id` when present, as huaweicloudsdkcore does.
    pub fn sign_huawei(&mut self, key: Key<'_>, host: &str, project: Option<&str>, at: DateTime<Utc>) {
        let date = at.format("%Y%m%dT%H%M%SZ").to_string();
        self.set("host", host);
        self.set("x-sdk-date", &date);
        if let Some(project) = project {
            self.set("x-project-id", project);
        }
        let mut names = vec!["host", "x-sdk-date"];
        names.extend(["content-type", "x-project-id"].into_iter().filter(|n| self.header(n).is_some()));
        names.sort_unstable();
        let (headers, signed) = self.canonical_headers(&names);
        let uri = format!("/{}/", self.segments.iter().map(|s| quote(s)).collect::<Vec<_>>().join("/"));
        let canonical = format!(
            "{}\n{uri}\n{}\n{headers}\n{signed}\n{}",
            self.method,
            self.sorted_encoded_query(),
            sha256_hex(&self.body)
        );
        let to_sign = format!("SDK-HMAC-SHA256\n{date}\n{}", sha256_hex(canonical.as_bytes()));
        let signature = hex::encode(hmac256(key.secret.as_bytes(), &to_sign));
        self.set(
            "authorization",
            &format!("SDK-HMAC-SHA256 Access={}, SignedHeaders={signed}, Signature={signature}", key.access_key),
        );
    }

    /// Alibaba `ACS3-HMAC-SHA256`, signing `host` and every `x-acs-*` header.
    pub fn sign_acs3(&mut self, key: Key<'_>, host: &str, at: DateTime<Utc>, nonce: &str) {
        let body_hash = sha256_hex(&self.body);
        self.set("host", host);
        self.set("x-acs-action", "CreateSnapshot");
        self.set("x-acs-version", "2017-06-13");
        self.set("x-acs-content-sha256", &body_hash);
        self.set("x-acs-date", &at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        self.set("x-acs-signature-nonce", nonce);
        let mut names: Vec<String> = self
            .headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .filter(|n| n == "host" || n.starts_with("x-acs-"))
            .collect();
        names.sort();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let (headers, signed) = self.canonical_headers(&names);
        let canonical = format!(
            "{}\n{}\n{}\n{headers}\n{signed}\n{body_hash}",
            self.method,
            self.path,
            self.sorted_encoded_query()
        );
        let to_sign = format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes()));
        let signature = hex::encode(hmac256(key.secret.as_bytes(), &to_sign));
        self.set(
            "authorization",
            &format!("ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed},Signature={signature}", key.access_key),
        );
    }

    /// Alibaba ROA v1 (`acs AK:signature`); the older SDKs send no nonce.
    pub fn sign_roa(&mut self, key: Key<'_>, at: DateTime<Utc>, nonce: Option<&str>) {
        self.set("accept", "application/json");
        self.set("date", &at.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
        if let Some(nonce) = nonce {
            self.set("x-acs-signature-nonce", nonce);
        }
        self.set("x-acs-signature-method", "HMAC-SHA1");
        self.set("x-acs-signature-version", "1.0");
        self.set("x-acs-version", "2017-06-13");
        let mut acs: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-acs-"))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        acs.sort();
        let mut pairs = self.query.clone();
        pairs.sort();
        let mut resource = self.path.clone();
        if !pairs.is_empty() {
            let joined: Vec<String> =
                pairs.iter().map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") }).collect();
            resource = format!("{resource}?{}", joined.join("&"));
        }
        let to_sign = format!(
            "{}\napplication/json\n{}\n{}\n{}\n{}{resource}",
            self.method,
            self.header("content-md5").unwrap_or_default(),
            self.header("content-type").unwrap_or_default(),
            self.header("date").unwrap_or_default(),
            acs.iter().map(|(n, v)| format!("{n}:{v}\n")).collect::<String>(),
        );
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.secret.as_bytes()).expect("any key length");
        mac.update(to_sign.as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        self.set("authorization", &format!("acs {}:{signature}", key.access_key));
    }
}
