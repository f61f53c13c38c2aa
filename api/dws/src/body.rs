//! Request bodies as the DWS SDK sends them; a field of the wrong type is an incorrect parameter.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use snapkeep_core::{CoreError, DatabasePolicyInput, NewClusterInput, StrategyInput};

use crate::error::DwsError;

/// The body as `T`; an empty body is DWS.0006.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DwsError> {
    if bytes.iter().all(u8::is_ascii_whitespace) || bytes == b"null" {
        return Err(CoreError::EmptyRequest.into());
    }
    serde_json::from_slice(bytes).map_err(|e| DwsError::incorrect(format!("the body does not parse: {e}")))
}

#[derive(Deserialize)]
struct CreateBody {
    snapshot: SnapshotFields,
}

#[derive(Deserialize)]
struct SnapshotFields {
    name: String,
    cluster_id: String,
    description: Option<String>,
}

/// `{"snapshot":{"name","cluster_id","description"}}` → (cluster, name, description).
pub fn create(bytes: &[u8]) -> Result<(String, String, Option<String>), DwsError> {
    let body: CreateBody = parse(bytes)?;
    Ok((body.snapshot.cluster_id, body.snapshot.name, body.snapshot.description))
}

#[derive(Deserialize)]
struct RestoreBody {
    restore: RestoreFields,
}

/// The restore fields snapkeep uses; the cloud networking fields are accepted and ignored.
#[derive(Deserialize)]
struct RestoreFields {
    name: String,
    port: Option<i64>,
}

pub fn restore(bytes: &[u8]) -> Result<NewClusterInput, DwsError> {
    let body: RestoreBody = parse(bytes)?;
    Ok(NewClusterInput { name: body.restore.name, port: body.restore.port })
}

#[derive(Deserialize)]
struct PolicyBody {
    keep_day: Option<i64>,
    #[serde(default)]
    backup_strategies: Vec<StrategyFields>,
}

#[derive(Deserialize)]
struct StrategyFields {
    policy_name: String,
    backup_strategy: String,
    backup_type: Option<String>,
    backup_level: Option<String>,
}

pub fn policy(bytes: &[u8]) -> Result<DatabasePolicyInput, DwsError> {
    let body: PolicyBody = parse(bytes)?;
    let strategies = body
        .backup_strategies
        .into_iter()
        .map(|s| StrategyInput {
            name: s.policy_name,
            schedule: s.backup_strategy,
            backup_type: s.backup_type,
            backup_level: s.backup_level,
        })
        .collect();
    Ok(DatabasePolicyInput { keep_day: body.keep_day, strategies })
}

#[derive(Deserialize)]
struct CheckBody {
    snapshot_name: String,
}

pub fn check(bytes: &[u8]) -> Result<String, DwsError> {
    Ok(parse::<CheckBody>(bytes)?.snapshot_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_create_body_parses() {
        let body = br#"{"snapshot":{"name":"snapshot-1","cluster_id":"c-1","description":"nightly"}}"#;
        assert_eq!(create(body).unwrap(), ("c-1".into(), "snapshot-1".into(), Some("nightly".into())));
    }

    #[test]
    fn empty_and_mistyped_bodies_are_refused_in_dws_codes() {
        let code = |e: DwsError| format!("{e:?}");
        assert!(code(create(b"").unwrap_err()).contains("DWS.0006"));
        assert!(code(create(br#"{"snapshot":{"name":5,"cluster_id":"c"}}"#).unwrap_err()).contains("DWS.0001"));
        let restore_body =
            br#"{"restore":{"name":"copy-1","port":8000,"vpc_id":"v","public_ip":{"public_bind_type":"auto_assign"}}}"#;
        assert_eq!(restore(restore_body).unwrap().port, Some(8000));
    }
}
