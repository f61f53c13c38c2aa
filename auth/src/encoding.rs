//! Percent-encoding as the signing schemes use it: RFC 3986 unreserved characters
//! (`A–Z a–z 0–9 - _ . ~`) stay, every other byte is `%XX` (uppercase hex). Decoding leaves
//! invalid escapes as they are.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Every byte but the unreserved ones.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Encodes every byte but the unreserved ones.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, RESERVED).to_string()
}

/// Decodes the `%XX` escapes of a path segment (`+` stays a plus).
pub fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The decoded `(key, value)` pairs of a raw query string (`+` is a space), in their order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reserved_characters() {
        assert_eq!(encode("a b/c~d_e.f-g"), "a%20b%2Fc~d_e.f-g");
        assert_eq!(encode("ä"), "%C3%A4");
        assert_eq!(query_pairs("t=tok+1%2F%C3%A4"), vec![("t".into(), "tok 1/ä".into())]);
        assert_eq!(decode("a+b"), "a+b");
        assert_eq!(decode("bad%zz%"), "bad%zz%");
        assert_eq!(
            query_pairs("b=2&a=&c"),
            vec![("b".into(), "2".into()), ("a".into(), String::new()), ("c".into(), String::new())]
        );
    }
}
