//! Which indices a restore brings back, under which names, and which clusters may receive them.

use snapkeep_rename::Rename;

use crate::engine::{EngineFlavor, EngineVersion};
use crate::error::CoreError;
use crate::model::{Snapshot, SnapshotStatus};
use crate::validate;

/// The indices of a snapshot a restore selects, and the name each gets on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePlan {
    /// `(index in the snapshot, index on the target)`.
    pub mapping: Vec<(String, String)>,
}

impl RestorePlan {
    /// Selects from `snapshot_indices` those matching `requested` (names or `*` patterns; empty
    /// selects all) and renames them with the `rename` pair as the engine will (`snapkeep_rename`).
    /// Errors: `Invalid` for a name not in the snapshot, a replacement the engine would refuse,
    /// and a target that is not a valid index name or that two indices would share.
    pub fn new(
        snapshot_indices: &[String],
        requested: &[String],
        rename: Option<&(String, String)>,
    ) -> Result<Self, CoreError> {
        let selected: Vec<&String> = snapshot_indices
            .iter()
            .filter(|index| requested.is_empty() || requested.iter().any(|p| wildcard_match(p, index)))
            .collect();
        if let Some(missing) = requested.iter().find(|p| !p.contains('*') && !snapshot_indices.contains(p)) {
            return Err(CoreError::invalid("indices", format!("index [{missing}] is not in the snapshot")));
        }
        if selected.is_empty() {
            return Err(CoreError::invalid("indices", "no index of the snapshot matches"));
        }
        let rename = rename
            .map(|(pattern, replacement)| Rename::new(pattern, replacement))
            .transpose()
            .map_err(|e| CoreError::invalid("rename_pattern", e.to_string()))?;
        let mut mapping: Vec<(String, String)> = Vec::with_capacity(selected.len());
        for index in selected {
            let target = match &rename {
                Some(rename) => {
                    rename.apply(index).map_err(|e| CoreError::invalid("rename_replacement", e.to_string()))?
                }
                None => index.clone(),
            };
            validate::index_name(&target).map_err(|why| {
                CoreError::invalid("rename_replacement", format!("renames [{index}] to [{target}], which {why}"))
            })?;
            if let Some((other, _)) = mapping.iter().find(|(_, t)| *t == target) {
                return Err(CoreError::invalid(
                    "rename_replacement",
                    format!("renames both [{other}] and [{index}] to [{target}]"),
                ));
            }
            mapping.push((index.clone(), target));
        }
        Ok(Self { mapping })
    }

    pub fn targets(&self) -> Vec<String> {
        self.mapping.iter().map(|(_, target)| target.clone()).collect()
    }
}

/// Whether a snapshot taken on `source` can be restored into `target`: same flavor and the same or
/// A snapshot can be restored: finished with data, and not being deleted.
pub(crate) fn ensure_restorable(snapshot: &Snapshot) -> Result<(), CoreError> {
    if snapshot.deleting {
        return Err(CoreError::SnapshotBeingDeleted);
    }
    if snapshot.status == SnapshotStatus::Building {
        return Err(CoreError::SnapshotNotReady);
    }
    if !snapshot.status.is_restorable() {
        return Err(CoreError::SnapshotUnusable(snapshot.status.as_str().to_owned()));
    }
    Ok(())
}

/// a newer version, or OpenSearch reading Elasticsearch ≤ 7.10 snapshots.
pub fn can_restore_into(source: (EngineFlavor, EngineVersion), target: (EngineFlavor, EngineVersion)) -> bool {
    match (source.0, target.0) {
        (a, b) if a == b => target.1 >= source.1,
        (EngineFlavor::Elasticsearch, EngineFlavor::Opensearch) => source.1 <= EngineVersion::new(7, 10, 2),
        _ => false,
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn selects_all_by_default_and_by_pattern() {
        let snap = names(&["index_a", "index_b", "logs-1"]);
        assert_eq!(RestorePlan::new(&snap, &[], None).unwrap().targets(), snap);
        let plan = RestorePlan::new(&snap, &names(&["index_*"]), None).unwrap();
        assert_eq!(plan.targets(), names(&["index_a", "index_b"]));
        let plan = RestorePlan::new(&snap, &names(&["logs-1"]), None).unwrap();
        assert_eq!(plan.targets(), names(&["logs-1"]));
    }

    #[test]
    fn refuses_names_not_in_the_snapshot() {
        let snap = names(&["a"]);
        assert!(RestorePlan::new(&snap, &names(&["b"]), None).is_err());
        assert!(RestorePlan::new(&snap, &names(&["x*"]), None).is_err());
    }

    #[test]
    fn renames_with_java_group_references() {
        let snap = names(&["index_a", "other"]);
        let rename = ("index_(.+)".to_owned(), "restored_index_$1".to_owned());
        let plan = RestorePlan::new(&snap, &[], Some(&rename)).unwrap();
        assert_eq!(plan.mapping, vec![("index_a".into(), "restored_index_a".into()), ("other".into(), "other".into())]);
        let rename = ("(.+)".to_owned(), "$1_copy".to_owned());
        let plan = RestorePlan::new(&snap, &names(&["other"]), Some(&rename)).unwrap();
        assert_eq!(plan.targets(), names(&["other_copy"]));
        let rename = ("(i)(x)".to_owned(), "c$10".to_owned());
        assert_eq!(RestorePlan::new(&names(&["ix"]), &[], Some(&rename)).unwrap().targets(), names(&["ci0"]));
    }

    /// Targets the engine would refuse or compute differently are refused before anything is sent.
    #[test]
    fn refuses_missing_groups_invalid_and_colliding_targets() {
        let refused = |indices: &[&str], pattern: &str, replacement: &str| {
            let rename = (pattern.to_owned(), replacement.to_owned());
            match RestorePlan::new(&names(indices), &[], Some(&rename)) {
                Err(CoreError::Invalid { field, message }) => format!("{field}: {message}"),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(refused(&["logs-a"], "logs-a", "copy-$1"), "rename_replacement: No group 1");
        assert_eq!(
            refused(&["logs-a"], "logs-a", ""),
            "rename_replacement: renames [logs-a] to [], which must not be empty"
        );
        assert!(refused(&["logs-a"], "logs", "_x").contains("must not start with '_'"));
        assert_eq!(
            refused(&["logs-a", "logs-b"], "logs-.", "copy"),
            "rename_replacement: renames both [logs-a] and [logs-b] to [copy]"
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("2018-06*", "2018-06-01"));
        assert!(!wildcard_match("2018-06*", "2018-07-01"));
        assert!(wildcard_match("*", "x"));
        assert!(wildcard_match("a*c*e", "abcde"));
        assert!(!wildcard_match("a*c*e", "abde"));
        assert!(wildcard_match("*-1", "logs-1"));
    }

    #[test]
    fn restore_targets_must_be_same_or_newer() {
        let es = |s| (EngineFlavor::Elasticsearch, EngineVersion::parse(s).unwrap());
        let os = |s| (EngineFlavor::Opensearch, EngineVersion::parse(s).unwrap());
        assert!(can_restore_into(es("7.10.2"), es("7.10.2")));
        assert!(can_restore_into(es("6.8.23"), es("7.17.0")));
        assert!(!can_restore_into(es("8.11.0"), es("7.17.0")));
        assert!(can_restore_into(es("7.10.2"), os("1.3.0")));
        assert!(!can_restore_into(es("7.17.0"), os("2.11.0")));
        assert!(!can_restore_into(os("1.3.0"), es("8.11.0")));
        assert!(can_restore_into(os("1.3.0"), os("2.11.0")));
    }
}
