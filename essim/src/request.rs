//! One parsed request: path segments after the prefix, query parameters, body.

use std::collections::HashMap;

use axum::http::Method;
use serde_json::Value;

use crate::error::{EsError, EsResult};

pub struct Request {
    pub method: Method,
    pub segments: Vec<String>,
    pub query: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn flag(&self, name: &str, default: bool) -> bool {
        match self.query.get(name).map(String::as_str) {
            None => default,
            Some("" | "true") => true,
            Some(_) => false,
        }
    }

    /// The body as a JSON object; an empty body is `{}`.
    pub fn json(&self) -> EsResult<Value> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| EsError::new(400, "parse_exception", format!("failed to parse request body: {e}")))
    }
}

/// A JSON boolean that may arrive as a string.
pub fn json_bool(value: Option<&Value>, default: bool) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => default,
    }
}

/// An index list that may arrive as a comma string or an array.
pub fn json_list(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
        _ => String::new(),
    }
}
