//! Reads of the SQLite catalog made without a hop to another thread. sqlx runs every SQLite
//! connection on a worker thread of its own, and waking that thread and being woken back cost a
//! signed list more than all the rest of its request (issue 19's profile: a third of the CPU in
//! context switches). A read here runs on the caller's thread, on a connection of a small pool
//! that only reads (`PRAGMA query_only`). In WAL mode a reader takes no lock a writer holds, so a
//! write never makes it wait: it costs its thread only the time SQLite steps through the rows. A
//! read of more than `INLINE_ROWS` rows goes to the blocking pool instead, so no runtime thread is
//! held for long.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde::de::DeserializeOwned;
use snapkeep_core::StoreError;

/// The most rows a read runs for on the caller's thread (a CSS list's first page is 201).
const INLINE_ROWS: u32 = 256;
/// Idle connections kept (one per core of the machines snapkeep is sized for, and then some).
const IDLE: usize = 4;
/// How long a read waits for a lock: only recovering the WAL index after a crash takes one.
const BUSY: Duration = Duration::from_millis(500);

/// A value bound to a statement's `$n` parameter.
#[derive(Debug, Clone)]
pub(super) enum Param {
    Text(Option<String>),
    Int(Option<i64>),
}

/// The pool of reading connections to one SQLite catalog file.
pub(super) struct InlineReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReader {
    pub(super) fn new(path: PathBuf) -> Arc<Self> {
        Arc::new(Self { path, idle: Mutex::default() })
    }

    /// The rows `sql` answers, with `params` bound to `$1`, `$2`, …, each read by column name
    /// into a `T`; `steps` is the most rows the statement steps through, when known (on this
    /// thread up to `INLINE_ROWS`; more, or unknown, on the blocking pool).
    ///
    /// # Errors
    /// `StoreError::Backend` when SQLite fails the read; `StoreError::Corrupt` for a row that
    /// does not read as a `T`.
    pub(super) async fn rows<T>(
        self: &Arc<Self>,
        sql: String,
        params: Vec<Param>,
        steps: Option<u32>,
    ) -> Result<Vec<T>, StoreError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        if steps.is_some_and(|steps| steps <= INLINE_ROWS) {
            return self.read(&sql, &params);
        }
        let reader = Arc::clone(self);
        tokio::task::spawn_blocking(move || reader.read(&sql, &params))
            .await
            .map_err(|e| StoreError::Backend(format!("catalog read: {e}")))?
    }

    fn read<T: DeserializeOwned>(&self, sql: &str, params: &[Param]) -> Result<Vec<T>, StoreError> {
        let connection = self.take()?;
        let read = query(&connection, sql, params);
        let spare = {
            let mut idle = self.idle.lock().expect("reader pool");
            if idle.len() < IDLE {
                idle.push(connection);
                None
            } else {
                Some(connection)
            }
        };
        drop(spare);
        read
    }

    /// An idle connection, or a new one.
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(connection) = self.idle.lock().expect("reader pool").pop() {
            return Ok(connection);
        }
        self.open().map_err(|e| StoreError::Backend(format!("opening the catalog to read: {e}")))
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)?;
        connection.busy_timeout(BUSY)?;
        connection.pragma_update(None, "query_only", true)?;
        Ok(connection)
    }
}

/// The names of the parameters a statement may have (the catalog's statements use `$n`).
const NAMES: [&str; 12] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12"];

/// # Errors
/// As [`InlineReader::rows`]; a statement given more parameters than [`NAMES`] is refused.
fn query<T: DeserializeOwned>(connection: &Connection, sql: &str, params: &[Param]) -> Result<Vec<T>, StoreError> {
    let failed = |e: rusqlite::Error| StoreError::Backend(format!("catalog read: {e}"));
    if params.len() > NAMES.len() {
        return Err(StoreError::Backend(format!("catalog read: {} parameters", params.len())));
    }
    let mut statement = connection.prepare_cached(sql).map_err(failed)?;
    for (name, param) in NAMES.iter().zip(params) {
        let Some(index) = statement.parameter_index(name).map_err(failed)? else { continue };
        match param {
            Param::Text(value) => statement.raw_bind_parameter(index, value),
            Param::Int(value) => statement.raw_bind_parameter(index, value),
        }
        .map_err(failed)?;
    }
    serde_rusqlite::from_rows::<T>(statement.raw_query()).collect::<Result<_, _>>().map_err(|e| match e {
        serde_rusqlite::Error::Rusqlite(e) => failed(e),
        e => StoreError::Corrupt(format!("catalog row: {e}")),
    })
}
