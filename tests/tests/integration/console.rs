//! The web console in a real browser: Debian's Chromium driven by `playwright-core`
//! (`tests/browser/console.mjs`) against snapkeep and essim on loopback. The script logs in (a
//! wrong token refused), sees a cluster `unprotected`, has a bad snapshot name refused with the
//! message in the page, takes a snapshot and watches its progress bar move, sees the cluster turn
//! `protected` live, restores one index under a new name, edits the policy and sees the next five
//! fire times, visits every page and logs out; this test then finds the documents restored.
//! Screenshots of every page are left in `target/browser-screenshots/` for review.

use std::process::Command;

use snapkeep_tests::{Essim, EssimOptions, Snapkeep, workspace_root};

#[test]
fn an_operator_protects_and_restores_a_cluster_from_the_console() {
    let root = workspace_root();
    let script = root.join("tests/browser/console.mjs");
    assert!(
        root.join("tests/browser/node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run scripts/test, which installs playwright-core"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(std::path::Path::new(&chromium).exists(), "{chromium} is missing: apt-get install chromium");
    let out = root.join("target/browser-screenshots");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let repo_root = dir.path().join("repositories");
    let essim = Essim::start(dir.path(), &repo_root, &EssimOptions::new("elasticsearch", "7.10.2"));
    essim.load_index("logs", 2, 400);
    let snapkeep = Snapkeep::start(dir.path(), &repo_root, &[]);
    let tenant = snapkeep.tenant("console");
    snapkeep.register(&tenant, "es-data", &essim);
    let idle = Essim::start(&dir.path().join("idle"), &repo_root, &EssimOptions::new("opensearch", "2.11.0"));
    snapkeep.register(&tenant, "os-idle", &idle);
    essim.set_rate(200);

    let run = Command::new("node")
        .arg(&script)
        .env("SNAPKEEP_URL", &snapkeep.url)
        .env("SNAPKEEP_TOKEN", snapkeep.admin_token())
        .env("CLUSTER_ID", "es-data")
        .env("ESSIM_URL", &essim.url)
        .env("OUT_DIR", &out)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the browser script failed:\n{stdout}\n{}\n--- snapkeep log (tail)\n{}",
        String::from_utf8_lossy(&run.stderr),
        snapkeep.log_text().lines().rev().take(30).collect::<Vec<_>>().join("\n")
    );
    assert!(stdout.contains("all steps passed"), "{stdout}");
    assert_eq!(essim.count("restored_logs"), 400, "the documents are back under the new name");
    for page in ["login", "fleet", "cluster", "cluster-progress", "restore", "operations", "storage", "keys", "audit"] {
        let png = std::fs::read(out.join(format!("{page}.png"))).unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG"), "no screenshot of {page}");
    }
}
