//! snapkeep's catalog stores. SQLite is the embedded default; every implementation passes the
//! same suite of store tests.

mod sqlite;

pub use sqlite::SqliteStore;
