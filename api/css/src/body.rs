//! Request bodies. CSS clients send camelCase or snake_case keys, booleans as JSON booleans or as
//! the strings "true"/"false"; a key of the wrong type is an incorrect parameter, not ignored.

use serde_json::{Map, Value};
use snapkeep_core::{CoreError, CreateSnapshotInput, RestoreInput};

use crate::error::CssError;

/// The body as a JSON object; an empty body is CSS.0006.
pub fn object(bytes: &[u8]) -> Result<Map<String, Value>, CssError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CoreError::EmptyRequest.into());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Err(CoreError::EmptyRequest.into()),
        Ok(_) => Err(CssError::incorrect("the body must be a JSON object")),
        Err(e) => Err(CssError::incorrect(format!("the body is not valid JSON: {e}"))),
    }
}

/// A string field under any of its accepted names.
fn string(map: &Map<String, Value>, names: &[&str]) -> Result<Option<String>, CssError> {
    match names.iter().find_map(|n| map.get(*n)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(CssError::incorrect(format!("{} must be a string", names[0]))),
    }
}

/// A boolean field that may arrive as a string.
fn boolean(map: &Map<String, Value>, names: &[&str]) -> Result<Option<bool>, CssError> {
    match names.iter().find_map(|n| map.get(*n)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(CssError::incorrect(format!("{} must be true or false", names[0]))),
    }
}

pub fn create_snapshot(bytes: &[u8]) -> Result<CreateSnapshotInput, CssError> {
    let map = object(bytes)?;
    Ok(CreateSnapshotInput {
        name: string(&map, &["name"])?.ok_or_else(|| CssError::incorrect("name is required"))?,
        description: string(&map, &["description"])?,
        indices: string(&map, &["indices"])?,
    })
}

pub fn restore(bytes: &[u8]) -> Result<RestoreInput, CssError> {
    let map = object(bytes)?;
    Ok(RestoreInput {
        target_cluster: string(&map, &["targetCluster", "target_cluster"])?.unwrap_or_default(),
        indices: string(&map, &["indices"])?,
        rename_pattern: string(&map, &["renamePattern", "rename_pattern"])?,
        rename_replacement: string(&map, &["renameReplacement", "rename_replacement"])?,
        replace_existing: boolean(&map, &["replace_exist_indices", "replaceExistIndices"])?.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_accepts_both_casings_and_string_booleans() {
        let camel = restore(br#"{"targetCluster":"t","renamePattern":"a(.+)","renameReplacement":"b$1","replace_exist_indices":"true"}"#).unwrap();
        assert_eq!(
            (camel.target_cluster.as_str(), camel.rename_pattern.as_deref(), camel.replace_existing),
            ("t", Some("a(.+)"), true)
        );
        let snake = restore(
            br#"{"target_cluster":"t","rename_pattern":"x","rename_replacement":"y","replace_exist_indices":false}"#,
        )
        .unwrap();
        assert_eq!(
            (snake.target_cluster.as_str(), snake.rename_replacement.as_deref(), snake.replace_existing),
            ("t", Some("y"), false)
        );
        assert!(restore(br#"{"target_cluster":"t","replace_exist_indices":"maybe"}"#).is_err());
        assert!(restore(br#"{"target_cluster":5}"#).is_err());
    }

    #[test]
    fn create_needs_a_json_object_with_a_name() {
        assert!(create_snapshot(b"").is_err());
        assert!(create_snapshot(b"null").is_err());
        assert!(create_snapshot(b"[1]").is_err());
        assert!(create_snapshot(b"{").is_err());
        assert!(create_snapshot(br#"{"description":"x"}"#).is_err());
        let ok = create_snapshot(br#"{"name":"snap","indices":"a,b"}"#).unwrap();
        assert_eq!((ok.name.as_str(), ok.indices.as_deref(), ok.description), ("snap", Some("a,b"), None));
    }
}
