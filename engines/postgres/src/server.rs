//! The local PostgreSQL binaries that run restored clusters: their version, and starting and
//! stopping a server on a data directory with `pg_ctl`, as a configured operating-system user
//! when snapkeep runs as root (PostgreSQL refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::Output;

use tokio::process::Command;

use crate::error::PgError;

/// Where the server binaries are and whom they run as.
#[derive(Debug, Clone)]
pub struct ServerBinaries {
    pub bin_dir: PathBuf,
    /// The user servers run as (`postgres`); `None` runs them as snapkeep's own user.
    pub run_as: Option<String>,
}

impl ServerBinaries {
    /// The major version of the local `postgres` binary.
    pub fn major_version(&self) -> Result<u32, PgError> {
        let binary = self.bin_dir.join("postgres");
        let output = std::process::Command::new(&binary)
            .arg("--version")
            .output()
            .map_err(|e| PgError::local(binary.display(), e))?;
        let text = String::from_utf8_lossy(&output.stdout);
        parse_major(&text).ok_or_else(|| PgError::Local(format!("{} --version said {text:?}", binary.display())))
    }

    /// Hands a directory tree to the user servers run as.
    pub async fn give_to_server_user(&self, path: &Path) -> Result<(), PgError> {
        let Some(user) = &self.run_as else { return Ok(()) };
        let output = Command::new("chown")
            .arg("-R")
            .arg(format!("{user}:"))
            .arg(path)
            .output()
            .await
            .map_err(|e| PgError::local("chown", e))?;
        checked("chown", output).map(drop)
    }

    /// Starts a server and waits until it accepts connections.
    pub async fn start(&self, data_dir: &Path, port: u16, listen: &str, log: &Path) -> Result<(), PgError> {
        let options = format!("-p {port} -k {} -c listen_addresses={listen}", data_dir.display());
        let output = self
            .pg_ctl(&["-D", &data_dir.display().to_string(), "-l", &log.display().to_string(), "-o", &options])
            .args(["-w", "-t", "300", "start"])
            .output()
            .await
            .map_err(|e| PgError::Start(e.to_string()))?;
        // The log goes with the directory of a failed restore, so the reason carries its end.
        checked("pg_ctl start", output)
            .map(drop)
            .map_err(|e| PgError::Start(format!("{e}; server log: {}", log_tail(log))))
    }

    /// Stops a server at once (it is being discarded).
    pub async fn stop(&self, data_dir: &Path) -> Result<(), PgError> {
        let output = self
            .pg_ctl(&["-D", &data_dir.display().to_string(), "-m", "immediate", "-w", "stop"])
            .output()
            .await
            .map_err(|e| PgError::local("pg_ctl stop", e))?;
        checked("pg_ctl stop", output).map(drop)
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(pg_ctl);
                c
            }
            None => Command::new(pg_ctl),
        };
        command.args(args);
        command
    }
}

/// The last lines of a server log, joined on one line.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join(" | ")
}

/// How many of a failed server's last log lines its error carries.
const LOG_TAIL_LINES: usize = 5;

fn checked(what: &str, output: Output) -> Result<Output, PgError> {
    if output.status.success() {
        return Ok(output);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(PgError::Local(format!("{what} failed ({}): {}", output.status, stderr.trim())))
}

/// `postgres (PostgreSQL) 15.18 (Debian …)` → 15.
fn parse_major(text: &str) -> Option<u32> {
    let version = text.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    version.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions_parse_from_version_lines() {
        assert_eq!(parse_major("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"), Some(15));
        assert_eq!(parse_major("postgres (PostgreSQL) 17beta1"), None);
        assert_eq!(parse_major("postgres (PostgreSQL) 16.4"), Some(16));
    }
}
