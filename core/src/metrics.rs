//! Counters an operator alerts on, rendered in the Prometheus text format: refused
//! authentications per dialect and reason (a wrong admin token is dialect `admin`), and finished
//! operations per kind and outcome (a policy failing every hour shows as `outcome="failed"`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// Shared by every clone of the core.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    auth_failures: Arc<Mutex<BTreeMap<(&'static str, &'static str), u64>>>,
    finished: Arc<Mutex<BTreeMap<(&'static str, &'static str), u64>>>,
}

impl Metrics {
    pub fn count_auth_failure(&self, dialect: &'static str, reason: &'static str) {
        let mut counts = self.auth_failures.lock().expect("metrics lock");
        *counts.entry((dialect, reason)).or_default() += 1;
    }

    /// An operation ended: `outcome` is `succeeded`, `part_failed` or `failed`.
    pub fn count_finished(&self, operation: &'static str, outcome: &'static str) {
        let mut counts = self.finished.lock().expect("metrics lock");
        *counts.entry((operation, outcome)).or_default() += 1;
    }

    /// The Prometheus exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP snapkeep_auth_failures_total Requests refused because they were not authenticated.\n\
             # TYPE snapkeep_auth_failures_total counter\n",
        );
        for ((dialect, reason), n) in self.auth_failures.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "snapkeep_auth_failures_total{{dialect=\"{dialect}\",reason=\"{reason}\"}} {n}");
        }
        out.push_str(
            "# HELP snapkeep_operations_finished_total Operations that ended, by kind and outcome.\n\
             # TYPE snapkeep_operations_finished_total counter\n",
        );
        for ((operation, outcome), n) in self.finished.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "snapkeep_operations_finished_total{{operation=\"{operation}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_dialect_and_reason() {
        let metrics = Metrics::default();
        metrics.count_auth_failure("css", "signature_mismatch");
        metrics.count_auth_failure("css", "signature_mismatch");
        metrics.clone().count_auth_failure("admin", "bad_token");
        let text = metrics.render();
        assert!(!text.contains("dialect=\"alibaba\""), "only what was counted");
        assert!(text.contains("snapkeep_auth_failures_total{dialect=\"css\",reason=\"signature_mismatch\"} 2\n"));
        assert!(text.contains("snapkeep_auth_failures_total{dialect=\"admin\",reason=\"bad_token\"} 1\n"));
        metrics.count_finished("create_snapshot", "failed");
        metrics.count_finished("create_snapshot", "failed");
        let text = metrics.render();
        assert!(
            text.contains("snapkeep_operations_finished_total{operation=\"create_snapshot\",outcome=\"failed\"} 2\n")
        );
    }
}
