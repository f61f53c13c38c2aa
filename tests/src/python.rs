//! Runs an official-SDK script from `tests/sdk/` with the project's Python environment (`.venv`,
//! made by `scripts/test`). A missing environment fails the test: it is never skipped.

use std::process::Command;

use crate::processes::workspace_root;
use crate::snapkeep::{Snapkeep, Tenant};

/// Runs `tests/sdk/<script>` against `snapkeep` as `tenant`, with `env` added; panics with the
/// script's output unless it exits 0. Returns its stdout.
pub fn run_sdk_script(script: &str, snapkeep: &Snapkeep, tenant: &Tenant, env: &[(&str, &str)]) -> String {
    let root = workspace_root();
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test, which makes the venv with the pinned SDKs",
        python.display()
    );
    let mut command = Command::new(python);
    command
        .arg(root.join("tests/sdk").join(script))
        .env("SNAPKEEP_URL", &snapkeep.url)
        .env("SNAPKEEP_PROJECT", &tenant.project_id)
        .env("SNAPKEEP_AK", &tenant.access_key)
        .env("SNAPKEEP_SK", &tenant.secret_key)
        .env("PYTHONUNBUFFERED", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}\n--- snapkeep log (tail)\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        tail(&snapkeep.log_text(), 40)
    );
    stdout
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
