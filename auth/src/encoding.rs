//! Percent-encoding as the signing schemes use it: RFC 3986 unreserved characters
//! (`A–Z a–z 0–9 - _ . ~`) stay, every other byte is `%XX` (uppercase hex).

/// Encodes every byte but the unreserved ones.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and, in a query, `+` as a space). Invalid escapes stay as they are.
pub fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 3 <= bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
            .flatten();
        match (hex, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') if plus_is_space => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded `(key, value)` pairs of a raw query string, in their order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k, true), decode(v, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reserved_characters() {
        assert_eq!(encode("a b/c~d_e.f-g"), "a%20b%2Fc~d_e.f-g");
        assert_eq!(encode("ä"), "%C3%A4");
        assert_eq!(decode("tok+1%2F%C3%A4", true), "tok 1/ä");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("bad%zz%", false), "bad%zz%");
        assert_eq!(
            query_pairs("b=2&a=&c"),
            vec![("b".into(), "2".into()), ("a".into(), String::new()), ("c".into(), String::new())]
        );
    }
}
