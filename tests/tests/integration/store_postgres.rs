//! The store suite on a real PostgreSQL server: every case the SQLite catalog passes, each on a
//! fresh database of the test server, through the same store; a catalog reached over TLS; and
//! migrations applied once by replicas starting together, a newer catalog refused.

use snapkeep_core::{Project, Store};
use snapkeep_store::SqlStore;
use snapkeep_tests::{TestPostgres, TlsCertificates, psql};

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

/// Replicas starting together on a new catalog migrate it once (each migration recorded once,
/// every replica's store usable); a catalog a newer snapkeep migrated is refused, naming the
/// migration this build lacks.
#[tokio::test]
async fn replicas_starting_together_migrate_once_and_refuse_a_newer_catalog() {
    let postgres = TestPostgres::shared_or_start();
    let url = postgres.fresh_database("migrated_once");
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let url = url.clone();
        starts.spawn(async move { SqlStore::connect_postgres(&url).await });
    }
    let stores: Vec<SqlStore> = starts.join_all().await.into_iter().map(|s| s.expect("every replica starts")).collect();
    let versions = psql(&url, "SELECT count(*), count(DISTINCT version) FROM _sqlx_migrations WHERE success");
    let (applied, distinct) = versions.split_once('|').expect("two counts");
    assert_eq!(applied, distinct, "each migration applied once");
    assert!(applied.parse::<u32>().unwrap() >= 3, "{versions}");
    for store in &stores {
        assert!(store.get_project("none").await.unwrap().is_none());
        store.close().await;
    }

    psql(
        &url,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999, 'from the future', true, '\\x00', 0)",
    );
    let refused = SqlStore::connect_postgres(&url).await.err().expect("refused");
    assert!(refused.to_string().contains("newer snapkeep (migration 99999"), "{refused}");
}
