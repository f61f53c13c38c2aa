//! Fault injection, switchable at runtime through `PUT /_essim/faults`.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// What to break. Applies to every request except the simulator's own `/_essim` ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Probability (0–1) that a request answers `error_status` instead of being served.
    pub error_rate: f64,
    /// Fail exactly the next N requests with `error_status`.
    pub fail_next: u32,
    /// Status of injected errors (default 503).
    pub error_status: Option<u16>,
    /// Hang the next N requests for `hang_ms` before serving them (a client sees a timeout).
    pub hang_next: u32,
    pub hang_ms: u64,
    /// Added to every request.
    pub latency_ms: u64,
    /// Only requests whose path contains this are affected (e.g. `_snapshot`).
    pub path_contains: Option<String>,
    /// New snapshots and restores make no progress.
    pub stuck: bool,
    /// Each new snapshot fails this many of its shards.
    pub failed_shards: u32,
}

/// What the fault layer decided for one request.
pub enum Injection {
    None,
    Error(u16),
    Delay(Duration),
}

impl Faults {
    /// Decides (and counts down) the fault for a request to `path`.
    pub fn decide(&mut self, path: &str) -> Injection {
        if self.path_contains.as_deref().is_some_and(|p| !path.contains(p)) {
            return Injection::None;
        }
        let status = self.error_status.unwrap_or(503);
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Injection::Error(status);
        }
        if self.hang_next > 0 {
            self.hang_next -= 1;
            return Injection::Delay(Duration::from_millis(self.hang_ms.max(1) + self.latency_ms));
        }
        if self.error_rate > 0.0 && rand::thread_rng().gen_bool(self.error_rate.clamp(0.0, 1.0)) {
            return Injection::Error(status);
        }
        if self.latency_ms > 0 {
            return Injection::Delay(Duration::from_millis(self.latency_ms));
        }
        Injection::None
    }
}
