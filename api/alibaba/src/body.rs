//! Request bodies: raw JSON (the Tea SDK) or the old SDK's form body `body=<url-encoded JSON>`;
//! booleans may arrive as JSON booleans or as strings in any case (`True`).

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::error::AliError;

/// The body as a JSON object; an empty body is `{}`.
pub fn object(headers: &HeaderMap, bytes: &[u8]) -> Result<Map<String, Value>, AliError> {
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let json: Vec<u8> = if form {
        url::form_urlencoded::parse(bytes)
            .find(|(k, _)| k == "body")
            .map(|(_, v)| v.into_owned().into_bytes())
            .unwrap_or_default()
    } else {
        bytes.to_vec()
    };
    if json.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(&json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AliError::invalid("The body must be a JSON object.")),
        Err(e) => Err(AliError::invalid(format!("The body is not valid JSON: {e}"))),
    }
}

/// A boolean field, or a query value, accepting `true`/`True`/`TRUE` and JSON booleans.
pub fn boolean(value: Option<&Value>, field: &str) -> Result<Option<bool>, AliError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => parse_bool(s, field).map(Some),
        Some(_) => Err(AliError::invalid(format!("{field} must be true or false."))),
    }
}

pub fn parse_bool(s: &str, field: &str) -> Result<bool, AliError> {
    match s.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AliError::invalid(format!("{field} must be true or false."))),
    }
}

/// A string field.
pub fn string<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, AliError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AliError::invalid(format!("{field} must be a string."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        h
    }

    #[test]
    fn json_and_form_bodies_and_loose_booleans() {
        let json =
            object(&headers("application/json; charset=utf-8"), br#"{"enable":"True","quartzRegex":"0 0 01 ? * * *"}"#)
                .unwrap();
        assert_eq!(boolean(json.get("enable"), "enable").unwrap(), Some(true));
        let form = object(&headers("application/x-www-form-urlencoded"), b"body=%7B%22enable%22%3Afalse%7D").unwrap();
        assert_eq!(boolean(form.get("enable"), "enable").unwrap(), Some(false));
        assert!(object(&headers("application/json"), b"").unwrap().is_empty());
        assert!(object(&headers("application/json"), b"[1]").is_err());
        assert!(object(&headers("application/json"), b"{").is_err());
        assert!(boolean(Some(&Value::String("yes".into())), "enable").is_err());
        assert!(string(&json, "quartzRegex").unwrap().is_some());
    }
}
