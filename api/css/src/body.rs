//! Request bodies. CSS clients send camelCase or snake_case keys, booleans as JSON booleans or as
//! the strings "true"/"false"; a key of the wrong type is an incorrect parameter, not ignored.

use serde_json::{Map, Value};
use snapkeep_core::{CoreError, CreateSnapshotInput, PolicyChange, RestoreInput, SettingsInput};

use crate::error::CssError;
use crate::policy::PolicyInput;

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

/// An integer field (keepday).
fn integer(map: &Map<String, Value>, names: &[&str]) -> Result<Option<i64>, CssError> {
    match names.iter().find_map(|n| map.get(*n)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| CssError::incorrect(format!("{} must be an integer", names[0])))
        }
        Some(_) => Err(CssError::incorrect(format!("{} must be an integer", names[0]))),
    }
}

/// A byte rate, sent as a string or a JSON number.
fn rate(map: &Map<String, Value>, names: &[&str]) -> Result<Option<String>, CssError> {
    match names.iter().find_map(|n| map.get(*n)) {
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        _ => string(map, names),
    }
}

/// A policy body (v1 `index_snapshot/policy`, and the policy keys of `index_snapshot/setting`).
fn policy_fields(map: &Map<String, Value>) -> Result<PolicyInput, CssError> {
    Ok(PolicyInput {
        enable: string(map, &["enable"])?,
        prefix: string(map, &["prefix"])?,
        period: string(map, &["period"])?,
        keepday: integer(map, &["keepday"])?,
        frequency: string(map, &["frequency"])?,
        indices: string(map, &["indices"])?,
        delete_auto: string(map, &["deleteAuto", "delete_auto"])?,
    })
}

pub fn policy(bytes: &[u8]) -> Result<PolicyChange, CssError> {
    Ok(policy_fields(&object(bytes)?)?.change()?)
}

/// The v2 `policy/open` body: the policy, switched on.
pub fn open_policy(bytes: &[u8]) -> Result<PolicyChange, CssError> {
    let input = PolicyInput { enable: Some("true".into()), delete_auto: None, ..policy_fields(&object(bytes)?)? };
    Ok(input.change()?)
}

/// Basic settings, and the policy keys when the body carries `enable`.
pub fn settings(bytes: &[u8]) -> Result<(SettingsInput, Option<PolicyChange>), CssError> {
    let map = object(bytes)?;
    let settings = SettingsInput {
        bucket: string(&map, &["bucket"])?,
        agency: string(&map, &["agency"])?,
        base_path: string(&map, &["basePath", "base_path"])?,
        max_snapshot_rate: rate(&map, &["maxSnapshotBytesPerSeconds", "max_snapshot_bytes_per_seconds"])?,
        max_restore_rate: rate(&map, &["maxRestoreBytesPerSeconds", "max_restore_bytes_per_seconds"])?,
    };
    let policy = map.contains_key("enable").then(|| policy_fields(&map)).transpose()?;
    Ok((settings, policy.map(|p| p.change()).transpose()?))
}

/// A manual snapshot request, its name held to CSS's rule (`snapshot_name`).
pub fn create_snapshot(bytes: &[u8]) -> Result<CreateSnapshotInput, CssError> {
    let map = object(bytes)?;
    let name = string(&map, &["name"])?.ok_or_else(|| CssError::incorrect("name is required"))?;
    let (description, indices) = (string(&map, &["description"])?, string(&map, &["indices"])?);
    snapshot_name(&name)?;
    Ok(CreateSnapshotInput { description, indices, ..CreateSnapshotInput::named(name) })
}

/// A CSS snapshot name: 4–64 characters of lowercase letters, digits, `-` and `_`, starting with a
/// letter (stricter than the engines' own rule, which core holds every name to).
fn snapshot_name(name: &str) -> Result<(), CssError> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if (4..=64).contains(&name.len()) && name.starts_with(|c: char| c.is_ascii_lowercase()) && name.chars().all(allowed)
    {
        return Ok(());
    }
    let rule = "must be 4 to 64 characters of lowercase letters, digits, '-' and '_', starting with a letter";
    Err(CoreError::invalid("name", rule).into())
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
    use snapkeep_core::SnapshotName;

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
    fn policy_and_settings_bodies() {
        let p =
            policy(br#"{"enable":"true","prefix":"snap","period":"16:00 GMT+08:00","keepday":2,"deleteAuto":"false"}"#)
                .unwrap();
        assert!(matches!(p, PolicyChange::On(ref p) if p.prefix == "snap" && p.keepday == 2), "{p:?}");
        assert!(policy(br#"{"enable":"true","keepday":"2"}"#).is_err(), "keepday is an integer");
        assert!(policy(br#"{"enable":true}"#).is_err(), "enable is a string");
        let (s, p) = settings(br#"{"bucket":"b","base_path":"a/b","maxSnapshotBytesPerSeconds":40,"max_restore_bytes_per_seconds":"0mb"}"#).unwrap();
        assert_eq!(
            (s.base_path.as_deref(), s.max_snapshot_rate.as_deref(), s.max_restore_rate.as_deref()),
            (Some("a/b"), Some("40"), Some("0mb"))
        );
        assert!(p.is_none());
        let (_, p) = settings(br#"{"bucket":"b","enable":"false","deleteAuto":"true"}"#).unwrap();
        assert!(matches!(p, Some(PolicyChange::Off { delete_automatic: true })), "{p:?}");
        let open = open_policy(br#"{"prefix":"xy","keepday":3,"frequency":"HOUR","deleteAuto":"true"}"#).unwrap();
        assert!(matches!(open, PolicyChange::On(ref p) if p.prefix == "xy" && p.enabled), "{open:?}");
    }

    #[test]
    fn create_needs_a_json_object_with_a_name() {
        assert!(create_snapshot(b"").is_err());
        assert!(create_snapshot(b"null").is_err());
        assert!(create_snapshot(b"[1]").is_err());
        assert!(create_snapshot(b"{").is_err());
        assert!(create_snapshot(br#"{"description":"x"}"#).is_err());
        let ok = create_snapshot(br#"{"name":"snap","indices":"a,b"}"#).unwrap();
        assert!(matches!(&ok.name, SnapshotName::Chosen(name) if name == "snap"), "{ok:?}");
        assert_eq!((ok.indices.as_deref(), ok.description, ok.idempotency_key), (Some("a,b"), None, None));
    }

    #[test]
    fn snapshot_names_follow_the_css_rule() {
        for ok in ["snap", "snapshot_001", "a-b_c", &format!("a{}", "b".repeat(63))] {
            assert!(snapshot_name(ok).is_ok(), "{ok}");
        }
        for bad in ["abc", "1abc", "_abc", "Snap", "snap shot", "snap.1", "snäp", &"a".repeat(65), ""] {
            let refused = create_snapshot(format!(r#"{{"name":"{bad}"}}"#).as_bytes()).unwrap_err();
            assert!(format!("{refused:?}").contains("CSS.0001"), "{bad}: {refused:?}");
        }
    }
}
