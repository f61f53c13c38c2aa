//! Child processes that are killed when dropped, with their output kept in files for diagnosis.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// The workspace root (where `.venv` and `target/` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A built binary of the workspace.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first (scripts/test does)",
        path.display()
    );
    path
}

/// A free loopback port, never one handed out before in this test process.
///
/// The kernel may give the same port to two callers whose servers have not bound it yet; tests
/// run in parallel, and a probe would then find the other test's server and take it for its own
/// (an S3 server answering where a cluster was expected).
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port();
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// A running process, killed on drop; stdout and stderr go to `<log>`.
pub struct Process {
    child: Child,
    pub log: PathBuf,
}

impl Process {
    pub fn spawn(mut command: Command, log: PathBuf) -> Self {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("log file");
        let err = out.try_clone().expect("log file handle");
        command.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        Self { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until the process accepts connections on `port`. `Err(log)` when it exited or did
    /// not listen within `timeout`.
    pub fn await_listening(&mut self, port: u16, timeout: std::time::Duration) -> Result<(), String> {
        let deadline = std::time::Instant::now() + timeout;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if self.has_exited() || std::time::Instant::now() >= deadline {
                return Err(format!("{} did not start listening on {port}:\n{}", self.log.display(), self.log_text()));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(())
    }
}

/// Starts a server on a free port, trying other ports when another process took the chosen one
/// between the choice and the bind.
pub fn spawn_listening(mut spawn: impl FnMut(u16) -> Process, timeout: std::time::Duration) -> (Process, u16) {
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        let mut process = spawn(port);
        match process.await_listening(port, timeout) {
            Ok(()) => return (process, port),
            Err(log) if log.contains("in use") => last = log,
            Err(log) => panic!("{log}"),
        }
    }
    panic!("no free port after 5 tries:\n{last}")
}

impl Process {
    /// SIGTERM, then waits for the exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        self.signal("TERM");
        self.child.wait().is_ok_and(|status| status.success())
    }

    /// Sends `signal` (`TERM`, `STOP`, `CONT`, …).
    pub fn signal(&self, signal: &str) {
        let sent =
            std::process::Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status();
        assert!(sent.is_ok_and(|s| s.success()), "could not send SIG{signal} to {}", self.child.id());
    }

    /// Whether the process has exited by itself.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}
