//! The README's first steps, run as written: the command that runs the service with embedded
//! defaults, the shell block (essim, an index, the admin CLI), the CSS, Alibaba and DWS SDK
//! snippets and the PostgreSQL registration, reaching a completed snapshot, a restore, an Alibaba
//! snapshot and a DWS snapshot. Only what a test must change is changed: the service and essim get
//! free loopback ports instead of 8080 and 9200, `cargo run … --` is the built binary, the
//! placeholders are filled from the outputs before them as a reader would, the PostgreSQL server
//! is the test's, and each snippet is followed by a check of what it did.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use snapkeep_tests::{ClusterClient, Process, TestPostgres, binary, free_port, psql, wait_for, workspace_root};

/// The fenced blocks of `lang` between the heading `from` and the next `## ` heading.
fn blocks(readme: &str, from: &str, lang: &str) -> Vec<String> {
    let start = readme.find(from).unwrap_or_else(|| panic!("README has no {from:?}"));
    let section = &readme[start + from.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let fence = format!("```{lang}\n");
    section
        .split(fence.as_str())
        .skip(1)
        .map(|rest| rest[..rest.find("```").expect("closed fence")].to_owned())
        .collect()
}

/// A shell block's commands: continuation lines joined, comments and blank lines dropped.
fn commands(block: &str) -> Vec<String> {
    block
        .replace("\\\n", " ")
        .lines()
        .map(|line| line.split(" # ").next().unwrap_or("").trim().to_owned())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

struct Reader {
    dir: tempfile::TempDir,
    service: u16,
    cluster: u16,
    background: Vec<Process>,
}

impl Reader {
    /// The README's text with this run's ports and binaries.
    fn adapt(&self, text: &str) -> String {
        text.replace("127.0.0.1:8080", &format!("127.0.0.1:{}", self.service))
            .replace("127.0.0.1:9200", &format!("127.0.0.1:{}", self.cluster))
            .replace("cargo run -q -p snapkeep --", &binary("snapkeep").display().to_string())
            .replace("cargo run -p snapkeep --", &binary("snapkeep").display().to_string())
            .replace("cargo run -q -p essim --", &binary("essim").display().to_string())
    }

    fn shell(&self, command: &str) -> Command {
        let mut shell = Command::new("bash");
        shell
            .arg("-c")
            .arg(format!("set -eo pipefail; snapkeep() {{ {} \"$@\"; }}; {command}", binary("snapkeep").display()))
            .current_dir(self.dir.path())
            .env("SNAPKEEP_LISTEN", format!("127.0.0.1:{}", self.service))
            .env("SNAPKEEP_SERVER", format!("http://127.0.0.1:{}", self.service));
        shell
    }

    /// Runs a command as a reader pastes it; one ending in `&` keeps running until the test ends.
    fn run(&mut self, command: &str) -> String {
        let command = self.adapt(command);
        if let Some(background) = command.strip_suffix('&') {
            let log = self.dir.path().join(format!("background-{}.log", self.background.len()));
            self.background.push(Process::spawn(self.shell(&format!("exec {background}")), log));
            return String::new();
        }
        let output = self.shell(&command).output().expect("bash");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{command}:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        stdout
    }

    /// Runs a README snippet with `prelude` before it and `check` after it.
    fn python(&self, prelude: &str, snippet: &str, check: &str) -> String {
        let root = workspace_root();
        let script = self.dir.path().join("snippet.py");
        std::fs::write(&script, format!("{prelude}\n{}\n{check}\n", self.adapt(snippet))).expect("script");
        let output = Command::new(root.join(".venv/bin/python"))
            .arg(&script)
            .env("PYTHONPATH", root.join("tests/sdk"))
            .env("PYTHONUNBUFFERED", "1")
            .output()
            .expect("python from .venv (made by scripts/test)");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{snippet}\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        stdout
    }
}

/// The second line's cells of a CLI table (the first row under the header).
fn first_row(table: &str) -> Vec<String> {
    table.lines().nth(1).unwrap_or_default().split_whitespace().map(str::to_owned).collect()
}

#[test]
fn a_newcomer_following_the_readme_reaches_a_snapshot_a_restore_and_a_dws_snapshot() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let mut reader = Reader {
        dir: tempfile::tempdir().unwrap(),
        service: free_port(),
        cluster: free_port(),
        background: Vec::new(),
    };

    // The first command of the README runs the service with embedded defaults.
    let serve = readme.lines().find(|l| l.contains("-- serve")).expect("the serve command").to_owned();
    reader.run(&format!("{} &", serve.split(" # ").next().unwrap().trim()));
    let health = format!("http://127.0.0.1:{}/healthz", reader.service);
    wait_for("the service to answer", Duration::from_secs(30), || {
        reqwest::blocking::get(&health).ok().filter(|r| r.status().is_success())
    });

    let steps = blocks(&readme, "## First steps", "sh");
    let (mut project, mut key) = (String::new(), Vec::new());
    for command in commands(&steps[0]).iter().filter(|c| !c.starts_with("alias ")) {
        let out = reader.run(&command.replace("<project-id>", &project));
        if command.contains("project create") {
            project = first_row(&out)[0].clone();
        } else if command.contains("key create") {
            key = first_row(&out);
        } else if command.contains("cluster list") {
            assert!(out.contains("logs-prod"), "{out}");
        }
    }
    let prelude = format!("ak, sk, project_id = {:?}, {:?}, {project:?}", key[0], key[1]);
    let snippets = blocks(&readme, "## First steps", "python");

    // CSS: a completed snapshot, then its restore under another name.
    let css_check = "from common import wait_for\nwait_for('the restore', lambda: client.list_snapshots(\n    ListSnapshotsRequest(cluster_id='logs-prod')).backups[0].restore_status == 'success')";
    let out = reader.python(&prelude, &snippets[0], css_check);
    assert!(out.contains("COMPLETED 0"), "{out}");
    let cluster = ClusterClient::new(format!("http://127.0.0.1:{}", reader.cluster), None, Box::new(String::new));
    assert_eq!(cluster.count("restored-logs-2026.11"), 1, "the restored index holds the document");

    // Alibaba: a second snapshot.
    assert!(reader.python(&prelude, &snippets[1], "").contains("True"));
    wait_for("two snapshots on the cluster", Duration::from_secs(30), || {
        (cluster.snapshot_names("snapkeep").len() == 2).then_some(())
    });

    // DWS: a PostgreSQL server registered as the README shows, and a snapshot of it.
    let postgres = TestPostgres::shared_or_start();
    psql(
        &postgres.url("postgres"),
        "DO $$ BEGIN CREATE ROLE backup LOGIN REPLICATION PASSWORD 'readme'; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    );
    let register = &commands(&blocks(&readme, "## PostgreSQL clusters", "sh")[0])[0];
    let register = register
        .replace("<project-id>", &project)
        .replace("'…'", "readme")
        .replace("db1:5432", &format!("127.0.0.1:{}", postgres.port));
    assert!(reader.run(&register).contains("warehouse"));
    let dws_check = "from dws_common import await_snapshot\nprint(await_snapshot(client, snapshot.id).status)";
    let out = reader.python(&prelude, &snippets[2], dws_check);
    assert!(out.trim_end().ends_with("AVAILABLE"), "{out}");
    drop(reader.background.drain(..));
    assert!(
        Path::new(&reader.dir.path().join("snapkeep-data/admin.token")).exists(),
        "embedded defaults: ./snapkeep-data"
    );
}
