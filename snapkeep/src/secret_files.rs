//! Secrets the service keeps in files of its data directory (the admin token, the node id, the
//! master key): read from configuration or a file, or generated the first time and written
//! readable by the owner only.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

/// A secret from configuration, else from `file`, else from `default_file` (created with a new
/// value, readable by the owner only, the first time).
pub(crate) fn secret(
    value: Option<&str>,
    file: Option<&Path>,
    default_file: &Path,
    generate: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    if let Some(value) = value {
        return Ok(value.trim().to_owned());
    }
    let path = file.unwrap_or(default_file);
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound || file.is_some() => {
            return Err(e).with_context(|| format!("reading {}", path.display()));
        }
        Err(_) => {}
    }
    let value = generate();
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(out, "{value}")?;
    tracing::info!(path = %path.display(), "generated a new secret file");
    Ok(value)
}
