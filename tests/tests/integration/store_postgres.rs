//! The store suite on a real PostgreSQL server: every case the SQLite catalog passes, each on a
//! fresh database of the test server, through the same store.

use snapkeep_store::SqlStore;
use snapkeep_tests::TestPostgres;

/// A fresh catalog on PostgreSQL, and the server it lives on.
async fn catalog() -> (SqlStore, TestPostgres) {
    let postgres = TestPostgres::shared_or_start();
    let database = format!("catalog_{}", uuid::Uuid::new_v4().simple());
    postgres.create_database(&database);
    let store = SqlStore::connect_postgres(&postgres.url(&database)).await.expect("a PostgreSQL catalog");
    (store, postgres)
}

snapkeep_store::store_suite!(catalog());
