//! Request bodies as the DWS SDK sends them, held to DWS's naming rules; a field of the wrong
//! type is an incorrect parameter.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use snapkeep_core::{
    CoreError, CreateSnapshotInput, DatabasePolicyInput, EngineFamily, NameScope, NewClusterInput, StrategyInput,
};

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

/// `{"snapshot":{"name","cluster_id","description"}}` → (cluster, request). DWS names a snapshot
/// once per project, compared without case, and only its database clusters are seen.
pub fn create(bytes: &[u8]) -> Result<(String, CreateSnapshotInput), DwsError> {
    let SnapshotFields { name, cluster_id, description } = parse::<CreateBody>(bytes)?.snapshot;
    warehouse_name("name", &name, MAX_NAME)?;
    let input = CreateSnapshotInput {
        scope: NameScope::Project,
        description,
        family: Some(EngineFamily::Database),
        ..CreateSnapshotInput::named(name)
    };
    Ok((cluster_id, input))
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
    warehouse_name("name", &body.restore.name, MAX_NAME)?;
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
    if let Some(days) = body.keep_day.filter(|days| !(1..=MAX_KEEP_DAYS).contains(days)) {
        return Err(CoreError::InvalidRetention(days).into());
    }
    let strategies = body.backup_strategies.into_iter().map(strategy).collect::<Result<_, _>>()?;
    Ok(DatabasePolicyInput { keep_day: body.keep_day, strategies })
}

/// A strategy snapkeep can run: a valid policy name, full backups of the whole cluster.
fn strategy(fields: StrategyFields) -> Result<StrategyInput, DwsError> {
    warehouse_name("policy_name", &fields.policy_name, MAX_POLICY_NAME)?;
    if let Some(kind) = fields.backup_type.as_deref().filter(|k| !k.eq_ignore_ascii_case("full")) {
        let why = format!("{kind:?} is not taken: snapkeep takes full backups");
        return Err(CoreError::invalid("backup_type", why).into());
    }
    if let Some(level) = fields.backup_level.as_deref().filter(|l| !l.eq_ignore_ascii_case("cluster")) {
        let why = format!("{level:?} is not taken: snapkeep backs up whole clusters");
        return Err(CoreError::invalid("backup_level", why).into());
    }
    Ok(StrategyInput { name: fields.policy_name, schedule: fields.backup_strategy })
}

#[derive(Deserialize)]
struct CheckBody {
    snapshot_name: String,
}

/// The name a snapshot would take, held to the naming rule.
pub fn check(bytes: &[u8]) -> Result<String, DwsError> {
    let name = parse::<CheckBody>(bytes)?.snapshot_name;
    warehouse_name("name", &name, MAX_NAME)?;
    Ok(name)
}

/// The longest snapshot or cluster name.
const MAX_NAME: usize = 64;
/// The longest retention of automatic snapshots, in days (`keep_day`).
const MAX_KEEP_DAYS: i64 = 31;
/// The longest policy name (`policy_name`).
const MAX_POLICY_NAME: usize = 92;

/// A DWS name (snapshots, restored clusters, policies): 4–`max` characters of letters, digits,
/// `-` and `_`, starting with a letter.
fn warehouse_name(field: &'static str, name: &str, max: usize) -> Result<(), DwsError> {
    let len = name.chars().count();
    let allowed = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if (4..=max).contains(&len) && allowed && name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Ok(());
    }
    let rule = format!("must be 4 to {max} characters of letters, digits, '-' and '_', starting with a letter");
    Err(CoreError::invalid(field, rule).into())
}

#[cfg(test)]
mod tests {
    use snapkeep_core::SnapshotName;

    use super::*;

    fn code(e: DwsError) -> String {
        format!("{e:?}")
    }

    #[test]
    fn warehouse_names_allow_uppercase_and_start_with_a_letter() {
        for ok in ["Snap", "nightly-01", "a_B-c", &format!("A{}", "b".repeat(63))] {
            assert!(warehouse_name("name", ok, 64).is_ok(), "{ok}");
        }
        for bad in ["abc", "1abc", "_abc", "snap shot", "snap.1", "snäpshot", &"a".repeat(65)] {
            assert!(code(warehouse_name("name", bad, 64).unwrap_err()).contains("DWS.0001"), "{bad}");
        }
        assert!(warehouse_name("policy_name", &"p".repeat(92), 92).is_ok());
    }

    #[test]
    fn the_seed_create_body_parses() {
        let body = br#"{"snapshot":{"name":"snapshot-1","cluster_id":"c-1","description":"nightly"}}"#;
        let (cluster, input) = create(body).unwrap();
        assert_eq!(cluster, "c-1");
        assert!(matches!(&input.name, SnapshotName::Chosen(name) if name == "snapshot-1"), "{input:?}");
        assert_eq!(input.description.as_deref(), Some("nightly"));
        assert_eq!((input.scope, input.family), (NameScope::Project, Some(EngineFamily::Database)));
    }

    #[test]
    fn empty_and_mistyped_bodies_are_refused_in_dws_codes() {
        assert!(code(create(b"").unwrap_err()).contains("DWS.0006"));
        assert!(code(create(br#"{"snapshot":{"name":5,"cluster_id":"c"}}"#).unwrap_err()).contains("DWS.0001"));
        let restore_body =
            br#"{"restore":{"name":"copy-1","port":8000,"vpc_id":"v","public_ip":{"public_bind_type":"auto_assign"}}}"#;
        assert_eq!(restore(restore_body).unwrap().port, Some(8000));
    }

    #[test]
    fn retention_and_policy_names_follow_the_dws_rules() {
        for days in [0, 32] {
            let refused = policy(format!(r#"{{"keep_day":{days}}}"#).as_bytes()).unwrap_err();
            assert!(code(refused).contains("DWS.5017"), "{days}");
        }
        assert_eq!(policy(br#"{"keep_day":31}"#).unwrap().keep_day, Some(31));
        let strategy = |name: &str, more: &str| {
            format!(r#"{{"backup_strategies":[{{"policy_name":"{name}","backup_strategy":"0 0 2 ? * *"{more}}}]}}"#)
        };
        assert!(code(policy(strategy("n1", "").as_bytes()).unwrap_err()).contains("DWS.0001"));
        for refused in [r#","backup_type":"increment""#, r#","backup_level":"schema""#] {
            let message = code(policy(strategy("hourly", refused).as_bytes()).unwrap_err());
            assert!(message.contains("DWS.0001") && message.contains("is not taken"), "{message}");
        }
        let full = r#","backup_type":"FULL","backup_level":"cluster""#;
        assert_eq!(policy(strategy("nightly", full).as_bytes()).unwrap().strategies[0].name, "nightly");
    }
}
