//! The store suite on a real PostgreSQL server: every case the SQLite catalog passes, each on a
//! fresh database of the test server, through the same store; and a catalog reached over TLS.

use snapkeep_core::{Project, Store};
use snapkeep_store::SqlStore;
use snapkeep_tests::{TestPostgres, TlsCertificates};

/// A fresh catalog on PostgreSQL, and the server it lives on.
async fn catalog() -> (SqlStore, TestPostgres) {
    let postgres = TestPostgres::shared_or_start();
    let database = format!("catalog_{}", uuid::Uuid::new_v4().simple());
    postgres.create_database(&database);
    let store = SqlStore::connect_postgres(&postgres.url(&database)).await.expect("a PostgreSQL catalog");
    (store, postgres)
}

snapkeep_store::store_suite!(catalog());

/// A catalog on a server that takes only TLS, reached as libpq's `sslmode` options say: verified
/// against its CA; refused in the clear and under a CA that did not sign the server's certificate.
#[tokio::test]
async fn a_catalog_is_reached_over_verified_tls() {
    let certificates = TlsCertificates::generate();
    let postgres = TestPostgres::start_tls_only(&certificates);
    postgres.create_database("catalog");
    let base = postgres.url("catalog");
    let (ca, other_ca) = (certificates.ca().display().to_string(), certificates.other_ca().display().to_string());
    for refused in [format!("{base}?sslmode=disable"), format!("{base}?sslmode=verify-full&sslrootcert={other_ca}")] {
        assert!(SqlStore::connect_postgres(&refused).await.is_err(), "{refused}");
    }
    let store = SqlStore::connect_postgres(&format!("{base}?sslmode=verify-full&sslrootcert={ca}")).await.unwrap();
    let project = Project { id: "p".into(), name: "over-tls".into(), created_at: chrono::Utc::now() };
    store.insert_project(&project).await.unwrap();
    assert_eq!(store.get_project("p").await.unwrap().unwrap().name, "over-tls");
}
