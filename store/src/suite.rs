//! The catalog's contract as tests, written once and run against every store: each case takes a
//! fresh, empty catalog and checks one rule the traits promise (uniqueness, leases, versions,
//! windows, all-or-nothing writes). `store_suite!` turns every case into a `#[tokio::test]` for a
//! store's constructor, so a second backend passes exactly what SQLite passes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use snapkeep_core::{
    AccessKey, AccessStore, Announcement, AuditEntry, AuditQuery, Cipher, Cluster, Delivery, DeliveryState,
    EngineFlavor, EngineVersion, FireLimits, FireOutcome, Lane, NextFire, Operation, OperationFilter, OperationKind,
    OperationPhase, OperationState, Project, Replica, RestoreStatus, Scope, Snapshot, SnapshotChange, SnapshotConfig,
    SnapshotFilter, SnapshotKind, SnapshotLocation, SnapshotStatus, StorageKind, StorageProfile, Store, StoreError,
    TimeRange, Webhook,
};

/// A store of both traits, as the service uses it.
pub trait Catalog: Store + AccessStore {}

impl<T: Store + AccessStore> Catalog for T {}

/// A time `ms` milliseconds after the suite's epoch.
fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_800_000_000_000 + ms).expect("in range")
}

/// Project `p`, which the access cases need.
async fn project(store: &dyn Catalog) {
    store.insert_project(&Project { id: "p".into(), name: "proj".into(), created_at: at(0) }).await.unwrap();
}

/// Project `p` with the Elasticsearch cluster `c`.
async fn seed(store: &dyn Catalog) {
    project(store).await;
    store.insert_cluster(&cluster("c", "p")).await.unwrap();
}

/// An Elasticsearch cluster `id` of `project`.
fn cluster(id: &str, project: &str) -> Cluster {
    Cluster {
        id: id.into(),
        project_id: project.into(),
        name: id.into(),
        endpoint: "http://127.0.0.1:1".into(),
        username: None,
        password_encrypted: None,
        region: "r".into(),
        flavor: EngineFlavor::Elasticsearch,
        version: EngineVersion::new(7, 10, 2),
        created_at: at(0),
    }
}

/// The ids of the first page (up to 10) of the snapshots and of the operations of `scope`.
async fn page_ids(
    store: &dyn Catalog,
    scope: Scope<'_>,
    filters: (SnapshotFilter, OperationFilter),
) -> [Vec<String>; 2] {
    let snapshots = store.snapshots_page(scope, &filters.0, None, 10).await.unwrap();
    let operations = store.operations_page(scope, &filters.1, None, 10).await.unwrap();
    [snapshots.iter().map(|s| s.id.clone()).collect(), operations.into_iter().map(|o| o.id).collect()]
}

/// Leases every due operation of both lanes to `owner`.
async fn claim_all(store: &dyn Catalog, owner: &str) {
    for lane in [Lane::Steps, Lane::Transfers] {
        store.claim_due_operations(lane, at(1_000_000), owner, at(2_000_000), 100).await.unwrap();
    }
}

/// A manual snapshot of `c`, just accepted.
fn snapshot(id: &str, name: &str) -> Snapshot {
    Snapshot {
        id: id.into(),
        project_id: "p".into(),
        cluster_id: "c".into(),
        name: name.into(),
        description: String::new(),
        requested_indices: String::new(),
        indices: vec!["a".into()],
        kind: SnapshotKind::Manual,
        status: SnapshotStatus::Building,
        repository: "snapkeep".into(),
        engine_version: None,
        total_shards: None,
        failed_shards: None,
        start_time_ms: Some(1),
        end_time_ms: None,
        failure_reason: None,
        deleting: false,
        restore_status: RestoreStatus::None,
        operation_failure: None,
        scheduled_for: None,
        size_bytes: None,
        location: None,
        project_unique_name: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

/// A pending create of `snapshot_id` on `c`, due at `at(due)`.
fn operation(id: &str, snapshot_id: &str, due: i64) -> Operation {
    Operation {
        id: id.into(),
        kind: OperationKind::CreateSnapshot,
        snapshot_id: snapshot_id.into(),
        batch: Vec::new(),
        cluster_id: "c".into(),
        lane: Lane::Steps,
        phase: OperationPhase::Pending,
        restore: None,
        attempts: 0,
        next_run_at: at(due),
        deadline: at(1_000_000),
        progress_marker: None,
        progress_at: at(0),
        last_error: None,
        created_at: at(0),
        finished_at: None,
    }
}

/// Snapshot `s1` created by operation `o1`, then being deleted by `o2`; returns both versions.
async fn created_then_deleting(store: &dyn Catalog) -> (Snapshot, Snapshot) {
    seed(store).await;
    let s = snapshot("s1", "snap");
    store.insert_snapshot_with_operation(&s, &operation("o1", "s1", 0)).await.unwrap();
    let deleting = Snapshot { deleting: true, updated_at: at(10), ..s.clone() };
    store.insert_operation_for(&deleting, at(0), &operation("o2", "s1", 0)).await.unwrap();
    (s, deleting)
}

fn key(id: &str, cipher: &Cipher, created: i64) -> AccessKey {
    AccessKey {
        access_key: id.into(),
        project_id: "p".into(),
        secret_encrypted: cipher.seal(&format!("secret of {id}")),
        enabled: true,
        created_at: at(created),
        expires_at: None,
    }
}

fn cipher() -> Cipher {
    Cipher::from_base64(&Cipher::generate_key()).unwrap()
}

fn profile(name: &str, is_default: bool) -> StorageProfile {
    let mut p = StorageProfile::local("p", "/srv");
    p.id = format!("id-{name}");
    p.name = name.into();
    p.kind = StorageKind::S3;
    p.endpoint = Some("http://127.0.0.1:9000".into());
    p.bucket = Some("snaps".into());
    p.access_key_id = Some("AK".into());
    p.secret_sealed = Some(vec![1, 2, 3]);
    p.is_default = is_default;
    p
}

pub async fn snapshot_names_are_unique_per_cluster_and_nothing_is_half_written(store: &dyn Catalog) {
    seed(store).await;
    store.insert_snapshot_with_operation(&snapshot("s1", "snap"), &operation("o1", "s1", 0)).await.unwrap();
    let err =
        store.insert_snapshot_with_operation(&snapshot("s2", "snap"), &operation("o2", "s2", 0)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.get_operation("o2").await.unwrap().is_none(), "the operation of a refused snapshot is not kept");
    assert_eq!(store.list_snapshots("c").await.unwrap().len(), 1);
}

/// Pages follow the listing's order (newest first, then by id) without gaps or repeats, also
/// across snapshots created in the same millisecond.
pub async fn snapshot_pages_walk_the_listing_in_order(store: &dyn Catalog) {
    seed(store).await;
    for (i, created) in [3_000, 1_000, 3_000, 2_000, 3_000].into_iter().enumerate() {
        let s = Snapshot { created_at: at(created), ..snapshot(&format!("s{i}"), &format!("snap{i}")) };
        store.insert_snapshot_with_operation(&s, &operation(&format!("o{i}"), &s.id, 0)).await.unwrap();
    }
    let listed: Vec<String> = store.list_snapshots("c").await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(listed, ["s0", "s2", "s4", "s3", "s1"]);
    let mut paged = Vec::new();
    let mut after: Option<(DateTime<Utc>, String)> = None;
    for _ in 0..5 {
        let cursor = after.as_ref().map(|(at, id)| (*at, id.as_str()));
        let page = store.snapshots_page(Scope::Cluster("c"), &SnapshotFilter::default(), cursor, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.created_at, last.id.clone()));
        paged.extend(page.iter().map(|s| s.id.clone()));
    }
    assert_eq!(paged, listed, "every snapshot once, in order");
    // A page longer than a short read (SQLite reads those on the blocking pool) reads every
    // field as the statement-per-snapshot reads do.
    let whole = store.snapshots_page(Scope::Cluster("c"), &SnapshotFilter::default(), None, 1000).await.unwrap();
    assert_eq!(whole[..], store.list_snapshots("c").await.unwrap()[..]);
}

pub async fn a_project_wide_name_is_held_once(store: &dyn Catalog) {
    seed(store).await;
    let held = |id: &str, name: &str| Snapshot { project_unique_name: Some(name.to_lowercase()), ..snapshot(id, name) };
    store.insert_snapshot_with_operation(&held("s1", "Nightly"), &operation("o1", "s1", 0)).await.unwrap();
    let taken = store.insert_snapshot_with_operation(&held("s2", "NIGHTLY"), &operation("o2", "s2", 0)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let free = Snapshot { project_unique_name: None, ..snapshot("s3", "NIGHTLY") };
    store.insert_snapshot_with_operation(&free, &operation("o3", "s3", 0)).await.expect("a per-cluster name");
    let read = store.get_snapshot("s1").await.unwrap().unwrap();
    assert_eq!(read.project_unique_name.as_deref(), Some("nightly"), "read back as written");
    assert!(store.get_snapshot("s2").await.unwrap().is_none(), "the refused write left nothing");
}

pub async fn snapshot_pages_keep_only_what_the_filter_lets_through(store: &dyn Catalog) {
    seed(store).await;
    let made = [
        ("s0", SnapshotKind::Automatic, SnapshotStatus::Completed),
        ("s1", SnapshotKind::Manual, SnapshotStatus::Failed),
        ("s2", SnapshotKind::Automatic, SnapshotStatus::Failed),
        ("s3", SnapshotKind::Automatic, SnapshotStatus::Completed),
        ("s4", SnapshotKind::Automatic, SnapshotStatus::Failed),
    ];
    for (i, (id, kind, status)) in made.into_iter().enumerate() {
        let s = Snapshot { kind, status, created_at: at(1_000 * i as i64), ..snapshot(id, &format!("snap{i}")) };
        store.insert_snapshot_with_operation(&s, &operation(&format!("o{i}"), id, 0)).await.unwrap();
    }
    let failed_automatic = SnapshotFilter {
        kind: Some(SnapshotKind::Automatic),
        status: Some(SnapshotStatus::Failed),
        ..SnapshotFilter::default()
    };
    let first = store.snapshots_page(Scope::Cluster("c"), &failed_automatic, None, 1).await.unwrap();
    let last = first.last().unwrap();
    let rest = store
        .snapshots_page(Scope::Cluster("c"), &failed_automatic, Some((last.created_at, &last.id)), 5)
        .await
        .unwrap();
    let ids: Vec<&str> = first.iter().chain(rest.iter()).map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s4", "s2"], "newest first, the filter holding across pages");
    let manual = SnapshotFilter { kind: Some(SnapshotKind::Manual), ..SnapshotFilter::default() };
    let ids: Vec<String> = store
        .snapshots_page(Scope::Cluster("c"), &manual, None, 5)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(ids, ["s1"]);
}

/// Listings of a cluster, a project or the whole fleet keep to their scope, and a time range to
/// its window (from inclusive, before exclusive); operations list the same way, by state.
pub async fn listings_keep_to_their_scope_and_window(store: &dyn Catalog) {
    seed(store).await;
    store.insert_project(&Project { id: "q".into(), name: "other".into(), created_at: at(0) }).await.unwrap();
    store.insert_cluster(&cluster("d", "q")).await.unwrap();
    for (i, (id, cluster, project)) in [("s0", "c", "p"), ("sd", "d", "q"), ("s2", "c", "p")].into_iter().enumerate() {
        let at = at(1_000 * i as i64);
        let s = Snapshot { project_id: project.into(), cluster_id: cluster.into(), created_at: at, ..snapshot(id, id) };
        let op = Operation { cluster_id: cluster.into(), created_at: at, ..operation(&format!("o{id}"), id, 0) };
        store.insert_snapshot_with_operation(&s, &op).await.unwrap();
    }
    let all = (SnapshotFilter::default(), OperationFilter::default());
    assert_eq!(page_ids(store, Scope::Fleet, all).await, [vec!["s2", "sd", "s0"], vec!["os2", "osd", "os0"]]);
    assert_eq!(page_ids(store, Scope::Project("q"), all).await, [vec!["sd"], vec!["osd"]]);
    assert_eq!(page_ids(store, Scope::Cluster("c"), all).await, [vec!["s2", "s0"], vec!["os2", "os0"]]);
    let created = TimeRange { from: Some(at(1_000)), before: Some(at(2_000)) };
    let window = (SnapshotFilter { created, ..SnapshotFilter::default() }, OperationFilter { created, ..all.1 });
    assert_eq!(page_ids(store, Scope::Fleet, window).await, [vec!["sd"], vec!["osd"]]);
    let failed = OperationFilter { state: Some(OperationState::Failed), ..all.1 };
    assert_eq!(page_ids(store, Scope::Fleet, (all.0, failed)).await[1], Vec::<String>::new());
    let open =
        OperationFilter { state: Some(OperationState::Open), kind: Some(OperationKind::CreateSnapshot), ..all.1 };
    assert_eq!(page_ids(store, Scope::Fleet, (all.0, open)).await[1].len(), 3);
}

pub async fn cluster_pages_walk_the_list_in_order(store: &dyn Catalog) {
    project(store).await;
    store.insert_project(&Project { id: "q".into(), name: "other".into(), created_at: at(0) }).await.unwrap();
    // Two created in the same millisecond: their ids order them, as bytes ("B" before "a").
    for (id, project, created) in [("a", "p", 2_000), ("z", "q", 1_000), ("B", "p", 2_000), ("m", "p", 3_000)] {
        store.insert_cluster(&Cluster { created_at: at(created), ..cluster(id, project) }).await.unwrap();
    }
    let ids = |clusters: Vec<Cluster>| clusters.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let all = ids(store.list_clusters(None).await.unwrap());
    assert_eq!(all, ["z", "B", "a", "m"]);
    assert_eq!(ids(store.clusters_page(None, None, 2).await.unwrap()), ["z", "B"]);
    assert_eq!(ids(store.clusters_page(None, Some((at(2_000), "B")), 2).await.unwrap()), ["a", "m"]);
    assert_eq!(ids(store.clusters_page(None, Some((at(3_000), "m")), 2).await.unwrap()), Vec::<String>::new());
    assert_eq!(ids(store.clusters_page(Some("p"), Some((at(1_500), "")), 10).await.unwrap()), ["B", "a", "m"]);
    store.insert_cluster(&Cluster { created_at: at(2_500), ..cluster("new", "p") }).await.unwrap();
    assert_eq!(
        ids(store.clusters_page(Some("p"), Some((at(2_000), "a")), 10).await.unwrap()),
        ["new", "m"],
        "a page sees a cluster registered after the list was first read"
    );
}

pub async fn scoped_reads_give_each_clusters_configs_locations_and_profiles_once(store: &dyn Catalog) {
    seed(store).await;
    store.insert_project(&Project { id: "q".into(), name: "other".into(), created_at: at(0) }).await.unwrap();
    store.insert_cluster(&cluster("d", "q")).await.unwrap();
    store.insert_cluster(&cluster("e", "q")).await.unwrap();
    let place = |path: &str| SnapshotLocation { profile: "local".into(), bucket: None, path: path.into() };
    let snapshots = [("s0", "c", "p", Some("/r/c")), ("s1", "c", "p", Some("/r/old")), ("s2", "c", "p", Some("/r/c"))];
    let more = [("s3", "c", "p", None), ("sd", "d", "q", Some("/r/d"))];
    for (i, (id, cluster, project, path)) in snapshots.into_iter().chain(more).enumerate() {
        let at = at(1_000 * i as i64);
        let s = Snapshot {
            project_id: project.into(),
            cluster_id: cluster.into(),
            created_at: at,
            location: path.map(place),
            ..snapshot(id, id)
        };
        let op = Operation { cluster_id: cluster.into(), created_at: at, ..operation(&format!("o{id}"), id, 0) };
        store.insert_snapshot_with_operation(&s, &op).await.unwrap();
    }
    let moved = |base: &str| {
        let mut config = SnapshotConfig::default();
        config.settings.base_path = Some(base.into());
        config
    };
    store.put_snapshot_config("c", &moved("elsewhere"), None, at(0)).await.unwrap();
    store.put_snapshot_config("d", &moved("there"), None, at(0)).await.unwrap();

    let locations = store.snapshot_locations(Scope::Fleet).await.unwrap();
    let expected =
        HashMap::from([("c".to_owned(), vec![place("/r/c"), place("/r/old")]), ("d".to_owned(), vec![place("/r/d")])]);
    assert_eq!(locations, expected, "each distinct location once, none for a cluster without snapshots");
    let in_q = store.snapshot_locations(Scope::Project("q")).await.unwrap();
    assert_eq!(in_q.keys().collect::<Vec<_>>(), ["d"]);
    assert_eq!(store.snapshot_locations(Scope::Cluster("c")).await.unwrap()["c"], expected["c"]);

    store.insert_storage_profile(&profile("backup", true)).await.unwrap();
    store.insert_storage_profile(&StorageProfile { project_id: "q".into(), ..profile("nfs", false) }).await.unwrap();
    let names = |profiles: HashMap<String, Vec<StorageProfile>>| {
        let mut names: Vec<(String, String)> = profiles
            .into_iter()
            .flat_map(|(project, listed)| listed.into_iter().map(move |p| (project.clone(), p.name)))
            .collect();
        names.sort();
        names
    };
    let everyone = [("p".to_owned(), "backup".to_owned()), ("q".to_owned(), "nfs".to_owned())];
    assert_eq!(names(store.scoped_storage_profiles(Scope::Fleet).await.unwrap()), everyone);
    assert_eq!(names(store.scoped_storage_profiles(Scope::Cluster("d")).await.unwrap()), everyone[1..]);

    let configs = store.snapshot_configs(Scope::Fleet).await.unwrap();
    assert_eq!(configs.len(), 2, "e has no config");
    assert_eq!(configs["c"].settings.base_path.as_deref(), Some("elsewhere"));
    assert_eq!(configs["d"], store.get_snapshot_config("d").await.unwrap().unwrap());
    let in_p = store.snapshot_configs(Scope::Project("p")).await.unwrap();
    assert_eq!(in_p.keys().collect::<Vec<_>>(), ["c"]);
}

pub async fn claims_lease_due_operations_once_until_released(store: &dyn Catalog) {
    seed(store).await;
    store.insert_snapshot_with_operation(&snapshot("s1", "snap1"), &operation("o1", "s1", 0)).await.unwrap();
    store.insert_snapshot_with_operation(&snapshot("s2", "snap2"), &operation("o2", "s2", 5_000)).await.unwrap();
    let transfer = Operation { lane: Lane::Transfers, ..operation("o3", "s3", 0) };
    store.insert_snapshot_with_operation(&snapshot("s3", "snap3"), &transfer).await.unwrap();
    let claimed = store.claim_due_operations(Lane::Steps, at(1_000), "a", at(61_000), 10).await.unwrap();
    assert_eq!(claimed.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), vec!["o1"], "only due ones of the lane");
    let transfers = store.claim_due_operations(Lane::Transfers, at(1_000), "a", at(61_000), 10).await.unwrap();
    assert_eq!((transfers.len(), transfers[0].lane), (1, Lane::Transfers), "the other lane's, apart");
    let leased = store.claim_due_operations(Lane::Steps, at(2_000), "b", at(62_000), 10).await.unwrap();
    assert!(leased.is_empty(), "leased");
    let mut op = claimed.into_iter().next().unwrap();
    op.next_run_at = at(2_000);
    op.phase = OperationPhase::Submitted;
    store.save_step(&op, &SnapshotChange::Keep, "a").await.unwrap();
    let again = store.claim_due_operations(Lane::Steps, at(2_000), "b", at(62_000), 10).await.unwrap();
    assert_eq!(again.len(), 1, "released by save_step");
    assert_eq!(again[0].phase, OperationPhase::Submitted);
    assert_eq!(store.release_leases("b").await.unwrap(), 1);
    let expired = store.claim_due_operations(Lane::Steps, at(70_000), "c", at(130_000), 10).await.unwrap();
    assert_eq!(expired.len(), 2, "released and due");
}

/// A replica whose lease lapsed (it stalled) and was taken over writes nothing of its step: the
/// replica now holding the operation decides its outcome.
pub async fn a_step_writes_nothing_once_its_lease_was_taken_over(store: &dyn Catalog) {
    seed(store).await;
    store.insert_snapshot_with_operation(&snapshot("s1", "snap"), &operation("o1", "s1", 0)).await.unwrap();
    let mut stalled = store.claim_due_operations(Lane::Steps, at(0), "a", at(60_000), 1).await.unwrap().remove(0);
    let mut current = store.claim_due_operations(Lane::Steps, at(70_000), "b", at(130_000), 1).await.unwrap().remove(0);
    stalled.phase = OperationPhase::Failed;
    let failed = Snapshot { status: SnapshotStatus::Failed, ..snapshot("s1", "snap") };
    let late = store.checkpoint_operation(&stalled, &SnapshotChange::Keep, "a").await;
    assert!(matches!(late, Err(StoreError::LeaseLost)), "{late:?}");
    assert!(!store.renew_lease("o1", "a", at(200_000)).await.unwrap(), "a lost lease is not renewed");
    let late = store.save_step(&stalled, &SnapshotChange::update(failed), "a").await;
    assert!(matches!(late, Err(StoreError::LeaseLost)), "{late:?}");
    assert_eq!(store.get_operation("o1").await.unwrap().unwrap().phase, OperationPhase::Pending, "nothing written");
    assert_eq!(store.get_snapshot("s1").await.unwrap().unwrap().status, SnapshotStatus::Building);
    current.phase = OperationPhase::Succeeded;
    store.save_step(&current, &SnapshotChange::Keep, "b").await.unwrap();
    let again = store.save_step(&current, &SnapshotChange::Keep, "b").await;
    assert!(matches!(again, Err(StoreError::LeaseLost)), "a saved step released its lease: {again:?}");
}

pub async fn operations_for_a_snapshot_need_its_expected_version(store: &dyn Catalog) {
    let (_, deleting) = created_then_deleting(store).await;
    let err = store.insert_operation_for(&deleting, at(0), &operation("o3", "s1", 0)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert!(store.get_operation("o3").await.unwrap().is_none());
    claim_all(store, "t").await;
    let mut done = store.get_operation("o2").await.unwrap().unwrap();
    done.phase = OperationPhase::Succeeded;
    store.save_step(&done, &SnapshotChange::Remove, "t").await.unwrap();
    assert!(store.get_snapshot("s1").await.unwrap().is_none());
    assert_eq!(store.open_operations(Some("c")).await.unwrap().len(), 1, "o1 is still open");
}

/// A create step that read its snapshot before a delete removed it (a running snapshot
/// deleted, aborted at once by the engine) must not bring it back when it records the failure.
pub async fn a_step_never_brings_back_a_removed_snapshot_nor_clears_a_delete(store: &dyn Catalog) {
    let (s, _) = created_then_deleting(store).await;
    claim_all(store, "t").await;
    let mut create = store.get_operation("o1").await.unwrap().unwrap();
    let progressed = Snapshot { status: SnapshotStatus::Building, total_shards: Some(3), ..s.clone() };
    store.checkpoint_operation(&create, &SnapshotChange::update(progressed), "t").await.unwrap();
    let stored = store.get_snapshot("s1").await.unwrap().unwrap();
    assert!(stored.deleting && stored.total_shards == Some(3), "the create's progress kept the delete: {stored:?}");
    let mut delete = store.get_operation("o2").await.unwrap().unwrap();
    delete.phase = OperationPhase::Succeeded;
    store.save_step(&delete, &SnapshotChange::Remove, "t").await.unwrap();
    create.phase = OperationPhase::Failed;
    let failed = Snapshot { status: SnapshotStatus::Failed, ..s };
    store.save_step(&create, &SnapshotChange::update(failed), "t").await.unwrap();
    assert!(store.get_snapshot("s1").await.unwrap().is_none(), "the deleted snapshot stays deleted");
}

pub async fn a_fire_moves_the_schedule_once_even_when_its_name_is_taken(store: &dyn Catalog) {
    seed(store).await;
    let config = SnapshotConfig::default();
    let due = NextFire { slot: at(0), fire_at: at(10) };
    store.put_snapshot_config("c", &config, Some(due), at(0)).await.unwrap();
    store.insert_snapshot_with_operation(&snapshot("manual", "auto-0"), &operation("o0", "manual", 0)).await.unwrap();
    let fire = store.due_fires(at(10), 10).await.unwrap().remove(0);
    let next = NextFire { slot: at(3_600_000), fire_at: at(3_600_010) };
    let roomy = FireLimits { global: 10, per_cluster: 10 };
    let taken = store.record_fire(&fire, &snapshot("s1", "auto-0"), &operation("o1", "s1", 0), next, roomy).await;
    assert_eq!(taken.unwrap(), FireOutcome::Lost, "the name was taken");
    assert!(store.get_operation("o1").await.unwrap().is_none());
    assert!(store.due_fires(at(10), 10).await.unwrap().is_empty(), "the schedule moved on anyway");
    let again = store.record_fire(&fire, &snapshot("s2", "auto-1"), &operation("o2", "s2", 0), next, roomy).await;
    assert_eq!(again.unwrap(), FireOutcome::Lost, "a stale fire loses the compare-and-set");
    assert_eq!(store.due_fires(at(3_600_010), 10).await.unwrap()[0].next, next);
    assert_eq!(store.list_projects().await.unwrap().len(), 1);
}

pub async fn a_fire_waits_while_a_limit_is_reached(store: &dyn Catalog) {
    seed(store).await;
    let due = NextFire { slot: at(0), fire_at: at(10) };
    store.put_snapshot_config("c", &SnapshotConfig::default(), Some(due), at(0)).await.unwrap();
    store.insert_snapshot_with_operation(&snapshot("manual", "manual"), &operation("o0", "manual", 0)).await.unwrap();
    let fire = store.due_fires(at(10), 10).await.unwrap().remove(0);
    let next = NextFire { slot: at(3_600_000), fire_at: at(3_600_010) };
    let (auto, create) = (snapshot("s1", "auto-0"), operation("o1", "s1", 0));
    let record = |limits| store.record_fire(&fire, &auto, &create, next, limits);
    for limits in [FireLimits { global: 10, per_cluster: 1 }, FireLimits { global: 1, per_cluster: 10 }] {
        assert_eq!(record(limits).await.unwrap(), FireOutcome::Deferred, "{limits:?}");
        assert!(store.get_operation("o1").await.unwrap().is_none(), "nothing written");
        assert_eq!(store.due_fires(at(10), 10).await.unwrap().len(), 1, "the fire stays due");
    }
    assert_eq!(record(FireLimits { global: 2, per_cluster: 2 }).await.unwrap(), FireOutcome::Fired);
    assert!(store.get_operation("o1").await.unwrap().is_some());
    assert!(store.due_fires(at(10), 10).await.unwrap().is_empty(), "the schedule moved on");
}

pub async fn a_client_token_makes_one_snapshot_within_its_window(store: &dyn Catalog) {
    seed(store).await;
    let first =
        store.insert_snapshot_once(&snapshot("s1", "one"), &operation("o1", "s1", 0), "t", at(-10)).await.unwrap();
    assert_eq!(first, None, "written");
    let again =
        store.insert_snapshot_once(&snapshot("s2", "two"), &operation("o2", "s2", 0), "t", at(-10)).await.unwrap();
    assert_eq!(again.as_deref(), Some("s1"), "replayed");
    assert!(store.get_snapshot("s2").await.unwrap().is_none() && store.get_operation("o2").await.unwrap().is_none());
    let expired =
        store.insert_snapshot_once(&snapshot("s3", "three"), &operation("o3", "s3", 0), "t", at(1)).await.unwrap();
    assert_eq!(expired, None, "an expired token makes a new snapshot");
    let taken = store.insert_snapshot_once(&snapshot("s4", "three"), &operation("o4", "s4", 0), "u", at(-10)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "names stay unique");
    assert!(
        store
            .insert_snapshot_once(&snapshot("s5", "five"), &operation("o5", "s5", 0), "u", at(-10))
            .await
            .unwrap()
            .is_none(),
        "a refused call did not burn the token"
    );
}

pub async fn projects_and_clusters_refuse_deletion_while_in_use(store: &dyn Catalog) {
    seed(store).await;
    assert!(matches!(store.delete_project("p").await, Err(StoreError::Conflict(_))));
    store.insert_snapshot_with_operation(&snapshot("s1", "snap"), &operation("o1", "s1", 0)).await.unwrap();
    assert!(matches!(store.delete_cluster("c").await, Err(StoreError::Conflict(_))));
    claim_all(store, "t").await;
    let mut op = store.get_operation("o1").await.unwrap().unwrap();
    op.phase = OperationPhase::Failed;
    store.save_step(&op, &SnapshotChange::Keep, "t").await.unwrap();
    store.delete_cluster("c").await.unwrap();
    assert!(store.get_snapshot("s1").await.unwrap().is_none());
    store.delete_project("p").await.unwrap();
}

pub async fn a_project_has_at_most_two_active_keys_and_a_refused_rotation_changes_nothing(store: &dyn Catalog) {
    project(store).await;
    let c = cipher();
    store.insert_access_key(&key("A", &c, 0), None, 2).await.unwrap();
    store.insert_access_key(&key("B", &c, 1), None, 2).await.unwrap();
    assert!(matches!(store.insert_access_key(&key("C", &c, 2), None, 2).await, Err(StoreError::Conflict(_))));
    let refused = store.insert_access_key(&key("C", &c, 2), Some(("A", at(10_000))), 2).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))));
    assert_eq!(store.get_access_key("A").await.unwrap().unwrap().expires_at, None, "rolled back");
    // Retired at once, A no longer counts.
    store.insert_access_key(&key("C", &c, 2), Some(("A", at(2))), 2).await.unwrap();
    assert_eq!(store.get_access_key("A").await.unwrap().unwrap().expires_at, Some(at(2)));
    store.set_access_key_enabled("B", false, 2, at(3)).await.unwrap();
    store.insert_access_key(&key("D", &c, 4), None, 2).await.unwrap();
    assert!(matches!(store.set_access_key_enabled("B", true, 2, at(5)).await, Err(StoreError::Conflict(_))));
    assert!(!store.get_access_key("B").await.unwrap().unwrap().enabled, "refused enable changed nothing");
    assert!(matches!(store.set_access_key_enabled("nope", true, 2, at(5)).await, Err(StoreError::NotFound)));
}

pub async fn a_nonce_is_taken_once_per_key_until_forgotten(store: &dyn Catalog) {
    project(store).await;
    assert!(store.remember_nonce("A", "n1", at(0), at(-1)).await.unwrap());
    assert!(!store.remember_nonce("A", "n1", at(1), at(-1)).await.unwrap());
    assert!(store.remember_nonce("B", "n1", at(1), at(-1)).await.unwrap(), "nonces are per key");
    assert!(store.remember_nonce("A", "n1", at(100), at(50)).await.unwrap(), "forgotten after its window");
}

pub async fn resealing_is_all_or_nothing(store: &dyn Catalog) {
    project(store).await;
    let (old, new) = (cipher(), cipher());
    store.insert_access_key(&key("A", &old, 0), None, 2).await.unwrap();
    store.insert_access_key(&key("B", &new, 0), None, 2).await.unwrap();
    store.init_catalog_setting("check", &old.seal("first")).await.unwrap();
    assert_eq!(old.open(&store.init_catalog_setting("check", &new.seal("x")).await.unwrap()).unwrap(), "first");
    store.put_catalog_setting("check", &old.seal("check")).await.unwrap();
    assert_eq!(old.open(&store.catalog_setting("check").await.unwrap().unwrap()).unwrap(), "check", "replaced");
    let rotate = || store.reseal_secrets((&old, &new), "rotator");
    assert!(matches!(rotate().await, Err(StoreError::Corrupt(_))), "B does not open");
    let a = store.get_access_key("A").await.unwrap().unwrap();
    assert_eq!(old.open(&a.secret_encrypted).unwrap(), "secret of A", "A was left as it was");
    store.delete_access_key("B").await.unwrap();
    assert_eq!(rotate().await.unwrap(), 1);
    let a = store.get_access_key("A").await.unwrap().unwrap();
    assert_eq!(new.open(&a.secret_encrypted).unwrap(), "secret of A");
    assert_eq!(new.open(&store.catalog_setting("check").await.unwrap().unwrap()).unwrap(), "check");
}

/// A replica's announcement records it seen at the catalog server's time; a rotation is refused
/// while another replica is live (by that clock) and changes nothing; once that replica's lease
/// lapsed, or it was forgotten, the rotation goes ahead; an announcement under a guard that
/// changed (a key rotated meanwhile) writes nothing.
pub async fn a_rotation_waits_for_live_replicas_and_a_rotated_key_announces_nothing(store: &dyn Catalog) {
    let (old, new) = (cipher(), cipher());
    store.put_catalog_setting("guard", &old.seal("check")).await.unwrap();
    let guard = store.catalog_setting("guard").await.unwrap().unwrap();
    let replica = |id: &str, lease_ms: i64| Replica {
        id: id.into(),
        version: "1.0".into(),
        started_at: at(0),
        seen_at: at(0),
        lease_ms,
        clock_offset_ms: 7,
    };
    let announced = store.announce_replica(&replica("a", 60_000), ("guard", &guard)).await.unwrap();
    let Announcement::Recorded { server_time } = announced else { panic!("{announced:?}") };
    assert!((server_time - Utc::now()).num_milliseconds().abs() < 10_000, "the catalog server's clock");
    store.announce_replica(&replica("b", 60_000), ("guard", &guard)).await.unwrap();
    let listed = store.list_replicas().await.unwrap();
    assert_eq!(listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!((listed[0].seen_at, listed[0].clock_offset_ms), (server_time, 7));

    let refused = store.reseal_secrets((&old, &new), "a").await;
    assert!(matches!(&refused, Err(StoreError::InUse(who)) if who.starts_with("b (last seen ")), "{refused:?}");
    assert_eq!(store.catalog_setting("guard").await.unwrap().unwrap(), guard, "a refused rotation changes nothing");
    store.announce_replica(&replica("b", 1), ("guard", &guard)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let refused = store.reseal_secrets((&old, &new), "rotator").await;
    assert!(
        matches!(&refused, Err(StoreError::InUse(who)) if who.starts_with("a (") && !who.contains("b (")),
        "b's lease lapsed: {refused:?}"
    );
    store.forget_replica("a").await.unwrap();
    store.reseal_secrets((&old, &new), "rotator").await.unwrap();

    let late = store.announce_replica(&replica("a", 60_000), ("guard", &guard)).await.unwrap();
    assert_eq!(late, Announcement::KeyChanged);
    let listed = store.list_replicas().await.unwrap();
    assert_eq!(listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["b"], "nothing written under a rotated key");
}

pub async fn the_integrity_key_is_made_once_and_outlives_a_master_key_rotation(store: &dyn Catalog) {
    project(store).await;
    let (old, new) = (cipher(), cipher());
    snapkeep_core::verify_master_key(store, &old).await.unwrap();
    let key = snapkeep_core::integrity_key(store, &old).await.unwrap();
    assert_eq!(snapkeep_core::integrity_key(store, &old).await.unwrap(), key, "made once");
    snapkeep_core::rotate_master_key(store, (&old, &new), "rotator").await.unwrap();
    assert_eq!(snapkeep_core::integrity_key(store, &new).await.unwrap(), key, "the same key after rotation");
    let refused = snapkeep_core::integrity_key(store, &old).await;
    assert!(matches!(refused, Err(snapkeep_core::CoreError::WrongMasterKey)), "{refused:?}");
}

/// Audit entry `i` of `project`, its action `A<i>`.
fn audit_entry(i: usize, project: Option<&str>) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: at(i as i64),
        dialect: "css".into(),
        project_id: project.map(str::to_owned),
        access_key: "AK".into(),
        action: format!("A{i}"),
        target: "c".into(),
        status: 200,
        outcome: "ok".into(),
        request_id: format!("r{i}"),
    }
}

pub async fn the_audit_log_pages_by_id_and_filters_by_project(store: &dyn Catalog) {
    project(store).await;
    for (i, project) in [Some("p"), None, Some("q"), Some("p")].into_iter().enumerate() {
        store.insert_audit(&audit_entry(i, project)).await.unwrap();
    }
    let all = store.list_audit(&AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap();
    let newest =
        store.list_audit(&AuditQuery { limit: 2, before_id: Some(i64::MAX), ..AuditQuery::default() }).await.unwrap();
    let ids = |entries: &[AuditEntry]| entries.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(&newest), ids(&all).into_iter().rev().take(2).collect::<Vec<_>>(), "newest first");
    let older = AuditQuery { limit: 1, before_id: Some(newest[1].id), ..AuditQuery::default() };
    assert!(store.list_audit(&older).await.unwrap()[0].id < newest[1].id, "before the cursor");
    assert_eq!(all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["A0", "A1", "A2", "A3"]);
    let p = AuditQuery { project_id: Some("p".into()), after_id: Some(all[0].id), limit: 10, before_id: None };
    assert_eq!(store.list_audit(&p).await.unwrap().iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["A3"]);
}

/// A reader tailing the audit log by id while four writers insert at once sees every entry
/// once, in order: no entry commits behind a later id the reader already passed.
pub async fn a_reader_tailing_the_audit_log_misses_no_entry(store: &dyn Catalog) {
    const WRITERS: usize = 4;
    const EACH: usize = 50;
    let write = |w: usize| async move {
        for i in 0..EACH {
            store.insert_audit(&audit_entry(w * EACH + i, None)).await.unwrap();
        }
    };
    let tail = async {
        let (mut seen, mut after) = (Vec::new(), 0);
        for _ in 0..20_000 {
            let query = AuditQuery { after_id: Some(after), limit: 7, ..AuditQuery::default() };
            let page = store.list_audit(&query).await.unwrap();
            after = page.last().map_or(after, |e| e.id);
            seen.extend(page.iter().map(|e| e.id));
            if seen.len() == WRITERS * EACH {
                break;
            }
            tokio::task::yield_now().await;
        }
        seen
    };
    let (seen, ..) = tokio::join!(tail, write(0), write(1), write(2), write(3));
    let all = store.list_audit(&AuditQuery { limit: 1000, ..AuditQuery::default() }).await.unwrap();
    let all: Vec<i64> = all.iter().map(|e| e.id).collect();
    assert_eq!(all.len(), WRITERS * EACH);
    assert_eq!(seen, all, "the tail saw every entry once, in order");
}

/// The fleet's facts of a cluster: its newest completed snapshot not being deleted, its last
/// finished creates newest first (as many as asked), its last failure, its open operations and
/// its configuration with the next fire; another project's filter sees none of them.
pub async fn fleet_facts_pick_each_clusters_newest_rows(store: &dyn Catalog) {
    seed(store).await;
    for (op, id) in [("o1", "s1"), ("o2", "s2"), ("o3", "s3"), ("o4", "s4")] {
        store.insert_snapshot_with_operation(&snapshot(id, id), &operation(op, id, 0)).await.unwrap();
    }
    claim_all(store, "w").await;
    let creates =
        [("o1", "s1", 100, true), ("o2", "s2", 200, false), ("o3", "s3", 300, false), ("o4", "s4", 400, true)];
    for (op, id, end, ok) in creates {
        let status = if ok { SnapshotStatus::Completed } else { SnapshotStatus::Failed };
        let ended =
            Snapshot { status, end_time_ms: Some(at(end).timestamp_millis()), updated_at: at(end), ..snapshot(id, id) };
        let mut finished = store.get_operation(op).await.unwrap().unwrap();
        finished.phase = if ok { OperationPhase::Succeeded } else { OperationPhase::Failed };
        finished.finished_at = Some(at(end));
        finished.last_error = (!ok).then(|| format!("{op} failed"));
        store.save_step(&finished, &SnapshotChange::update(ended), "w").await.unwrap();
    }
    let s4 = store.get_snapshot("s4").await.unwrap().unwrap();
    let deleting = Snapshot { deleting: true, updated_at: at(500), ..s4.clone() };
    let delete = Operation { kind: OperationKind::DeleteSnapshot, ..operation("o5", "s4", 0) };
    store.insert_operation_for(&deleting, s4.updated_at, &delete).await.unwrap();
    let next = NextFire { slot: at(3_600_000), fire_at: at(3_600_500) };
    store.put_snapshot_config("c", &SnapshotConfig::default(), Some(next), at(0)).await.unwrap();

    let mut facts = store.fleet_facts(Scope::Fleet, 2).await.unwrap();
    let c = facts.remove("c").expect("cluster c");
    assert!(facts.is_empty(), "{facts:?}");
    let success = c.last_success.expect("a completed snapshot");
    assert_eq!((success.snapshot_id.as_str(), success.at), ("s1", at(100)), "s4 is being deleted");
    assert_eq!(c.failures_in_a_row, 0, "the newest create succeeded");
    assert_eq!(c.last_failure.expect("a failure").id, "o3");
    assert_eq!(c.running.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["o5"]);
    assert_eq!(c.next_fire, Some(next));
    assert!(c.config.is_some());
    assert!(store.fleet_facts(Scope::Project("q"), 2).await.unwrap().is_empty(), "another project's clusters only");
    let one = store.fleet_facts(Scope::Cluster("c"), 2).await.unwrap();
    assert_eq!(one.keys().collect::<Vec<_>>(), ["c"], "one cluster's facts only");

    // Three more failures after the last success: counted up to what was asked.
    for (i, op) in ["o6", "o7", "o8"].into_iter().enumerate() {
        let id = format!("s{}", 6 + i);
        store.insert_snapshot_with_operation(&snapshot(&id, &id), &operation(op, &id, 0)).await.unwrap();
        claim_all(store, "w").await;
        let mut failed = store.get_operation(op).await.unwrap().unwrap();
        failed.phase = OperationPhase::Failed;
        failed.finished_at = Some(at(600 + i as i64));
        store.save_step(&failed, &SnapshotChange::Keep, "w").await.unwrap();
    }
    assert_eq!(store.fleet_facts(Scope::Fleet, 2).await.unwrap()["c"].failures_in_a_row, 2, "capped at two");
    assert_eq!(store.fleet_facts(Scope::Fleet, 5).await.unwrap()["c"].failures_in_a_row, 3);
}

fn webhook(id: &str, project: Option<&str>, cipher: &Cipher) -> Webhook {
    Webhook {
        id: id.into(),
        project_id: project.map(Into::into),
        url_origin: "http://127.0.0.1:9".into(),
        url_sealed: cipher.seal("http://127.0.0.1:9/hook"),
        secret_sealed: cipher.seal("secret"),
        headers_sealed: None,
        created_at: at(0),
    }
}

fn delivery(id: &str, webhook_id: &str, event_id: &str) -> Delivery {
    Delivery {
        id: id.into(),
        webhook_id: webhook_id.into(),
        event_id: event_id.into(),
        event: "snapshot.failed".into(),
        body: "{}".into(),
        state: DeliveryState::Pending,
        attempts: 0,
        next_attempt_at: at(0),
        last_error: None,
        created_at: at(0),
        delivered_at: None,
        claimed_until: None,
    }
}

/// An ended operation is turned into deliveries once, whichever replica marks it first; a
/// protection change is recorded only from the state it was read in; a claimed delivery is not
/// claimed again until its claim lapses or it is finished; setting a scope's webhook replaces it;
/// webhook secrets are resealed with the rest.
pub async fn an_event_is_queued_once_and_a_claimed_delivery_is_posted_by_one_replica(store: &dyn Catalog) {
    seed(store).await;
    let c = cipher();
    store.put_webhook(&webhook("w0", None, &c)).await.unwrap();
    store.put_webhook(&webhook("w2", Some("p"), &c)).await.unwrap();

    store.insert_snapshot_with_operation(&snapshot("s1", "snap"), &operation("o1", "s1", 0)).await.unwrap();
    let ended = Operation { phase: OperationPhase::Failed, finished_at: Some(at(5)), ..operation("o1", "s1", 0) };
    store.claim_due_operations(Lane::Steps, at(0), "me", at(100), 10).await.unwrap();
    assert!(store.unnotified_operations(10).await.unwrap().is_empty(), "not ended yet");
    store.save_step(&ended, &SnapshotChange::Keep, "me").await.unwrap();
    let due = store.unnotified_operations(10).await.unwrap();
    assert_eq!(due.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["o1"]);
    let queued = [delivery("d1", "w0", "e1"), delivery("d2", "w2", "e1")];
    store.mark_notified("o1", &queued).await.unwrap();
    store.mark_notified("o1", &[delivery("d3", "w0", "e1-again")]).await.unwrap();
    assert!(store.unnotified_operations(10).await.unwrap().is_empty());
    assert_eq!(store.list_deliveries("w0", 10).await.unwrap().len(), 1, "the second marking queued nothing");

    assert!(store.change_protection("c", (None, "unprotected"), at(1), &[]).await.unwrap());
    assert!(!store.change_protection("c", (None, "failing"), at(2), &[]).await.unwrap(), "already recorded");
    let turned = [delivery("d4", "w0", "e2")];
    assert!(!store.change_protection("c", (Some("late"), "failing"), at(2), &turned).await.unwrap());
    assert!(store.change_protection("c", (Some("unprotected"), "failing"), at(2), &turned).await.unwrap());
    assert_eq!(store.protection_states().await.unwrap().get("c").map(String::as_str), Some("failing"));
    assert_eq!(store.list_deliveries("w0", 10).await.unwrap().len(), 2);

    let first = store.claim_deliveries(at(10), at(70), (10, 1)).await.unwrap();
    let ids = |claimed: &[(Delivery, Webhook)]| claimed.iter().map(|(d, _)| d.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ["d1", "d2"], "one of each webhook: the oldest");
    let second = store.claim_deliveries(at(11), at(70), (10, 4)).await.unwrap();
    assert_eq!(ids(&second), ["d4"], "the rest of the first webhook's");
    assert!(store.claim_deliveries(at(20), at(80), (10, 4)).await.unwrap().is_empty(), "claimed until 70");
    let mut late = second[0].0.clone();
    late.claimed_until = Some(at(1));
    late.state = DeliveryState::Delivered;
    assert!(!store.finish_delivery(&late).await.unwrap(), "a claim that is not this one writes nothing");
    let (mut posted, _) = first.into_iter().find(|(d, _)| d.id == "d1").unwrap();
    posted.state = DeliveryState::Delivered;
    posted.attempts = 1;
    posted.delivered_at = Some(at(30));
    assert!(store.finish_delivery(&posted).await.unwrap());
    let again = ids(&store.claim_deliveries(at(71), at(130), (10, 4)).await.unwrap());
    assert_eq!(again.len(), 2, "the lapsed claims, not the delivered one: {again:?}");
    assert!(!again.contains(&"d1".to_owned()));

    let replaced = store.put_webhook(&webhook("w3", Some("p"), &c)).await.unwrap();
    assert_eq!(replaced.id, "w2", "a project's webhook set again keeps its id");
    assert_eq!(store.list_deliveries("w2", 10).await.unwrap().len(), 1, "and its deliveries");
    let new = cipher();
    store.reseal_secrets((&c, &new), "rotator").await.unwrap();
    let hook = store.list_webhooks().await.unwrap().remove(0);
    assert_eq!(new.open(&hook.url_sealed).unwrap(), "http://127.0.0.1:9/hook");
    assert!(store.delete_webhook(Some("p")).await.unwrap());
    assert!(store.list_deliveries("w2", 10).await.unwrap().is_empty(), "its deliveries went with it");
}

/// The catalog's in-memory view never hides a write made through the store: a disabled or
/// deleted key, a new or deleted cluster (alone and in lists) and a changed policy are read as
/// they now are.
pub async fn reads_see_every_write_of_this_store_at_once(store: &dyn Catalog) {
    seed(store).await;
    let c = cipher();
    store.insert_access_key(&key("A", &c, 0), None, 2).await.unwrap();
    assert!(store.get_access_key("A").await.unwrap().unwrap().enabled);
    store.set_access_key_enabled("A", false, 2, at(1)).await.unwrap();
    assert!(!store.get_access_key("A").await.unwrap().unwrap().enabled, "disabled");
    store.delete_access_key("A").await.unwrap();
    assert!(store.get_access_key("A").await.unwrap().is_none(), "deleted");
    assert!(store.get_snapshot_config("c").await.unwrap().is_none());
    let mut config = SnapshotConfig::default();
    config.policy.keepday = 3;
    store.put_snapshot_config("c", &config, None, at(2)).await.unwrap();
    assert_eq!(store.get_snapshot_config("c").await.unwrap().map(|c| c.policy.keepday), Some(3), "set");
    assert!(store.get_cluster("c").await.unwrap().is_some());
    assert_eq!(store.list_clusters(Some("p")).await.unwrap().len(), 1);
    store.insert_cluster(&cluster("d", "p")).await.unwrap();
    assert_eq!(store.list_clusters(Some("p")).await.unwrap().len(), 2, "a new cluster is listed");
    store.delete_cluster("c").await.unwrap();
    assert!(store.get_cluster("c").await.unwrap().is_none(), "deleted");
    let listed: Vec<String> = store.list_clusters(None).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(listed, ["d"], "a deleted cluster is not listed");
    assert!(store.get_snapshot_config("c").await.unwrap().is_none(), "its policy went with it");
}

/// A cluster's listing (its first page, which SQLite keeps in memory) shows each write to its
/// snapshots at once: a create, a step's change, a delete starting, a snapshot removed.
pub async fn a_listing_sees_every_write_to_snapshots_at_once(store: &dyn Catalog) {
    let first_page = || async {
        let page = store.snapshots_page(Scope::Cluster("c"), &SnapshotFilter::default(), None, 201).await.unwrap();
        page.iter().map(|s| (s.id.clone(), s.status, s.deleting)).collect::<Vec<_>>()
    };
    let (created, deleting) = created_then_deleting(store).await;
    assert_eq!(first_page().await, [("s1".to_owned(), SnapshotStatus::Building, true)], "a delete starting");
    let mut o1 = operation("o1", "s1", 0);
    claim_all(store, "a").await;
    let done = Snapshot { status: SnapshotStatus::Completed, ..deleting.clone() };
    store.save_step(&o1, &SnapshotChange::update(done), "a").await.unwrap();
    assert_eq!(first_page().await, [("s1".to_owned(), SnapshotStatus::Completed, true)], "a step's change");
    let s2 = Snapshot { created_at: at(20), ..snapshot("s2", "second") };
    store.insert_snapshot_with_operation(&s2, &operation("o3", "s2", 0)).await.unwrap();
    assert_eq!(first_page().await.len(), 2, "a create");
    o1 = Operation { kind: OperationKind::DeleteSnapshot, ..operation("o2", &created.id, 0) };
    claim_all(store, "a").await;
    store.save_step(&o1, &SnapshotChange::Remove, "a").await.unwrap();
    assert_eq!(first_page().await, [("s2".to_owned(), SnapshotStatus::Building, false)], "a snapshot removed");
}

/// The name of project `p`'s default storage profile, if it has one.
async fn default_profile(store: &dyn Catalog) -> Option<String> {
    store.list_storage_profiles("p").await.unwrap().into_iter().find(|p| p.is_default).map(|p| p.name)
}

pub async fn one_default_per_project_and_names_are_unique(store: &dyn Catalog) {
    let project = Project { id: "p".into(), name: "proj".into(), created_at: at(0) };
    store.insert_project(&project).await.unwrap();
    store.insert_storage_profile(&profile("a", true)).await.unwrap();
    assert_eq!(default_profile(store).await.as_deref(), Some("a"));
    store.insert_storage_profile(&profile("b", true)).await.unwrap();
    assert_eq!(default_profile(store).await.as_deref(), Some("b"));
    let mut again = profile("a", false);
    again.id = "other".into();
    assert!(matches!(store.insert_storage_profile(&again).await, Err(StoreError::Conflict(_))));
    store.set_default_storage_profile("p", "a").await.unwrap();
    let listed = store.list_storage_profiles("p").await.unwrap();
    assert_eq!(listed.iter().map(|p| (p.name.as_str(), p.is_default)).collect::<Vec<_>>(), [("a", true), ("b", false)]);
    assert_eq!(listed[0], profile("a", true));
    assert!(matches!(store.set_default_storage_profile("p", "zz").await, Err(StoreError::NotFound)));
    assert_eq!(default_profile(store).await.as_deref(), Some("a"), "a failed change keeps the default");
    store.delete_storage_profile("p", "a").await.unwrap();
    assert_eq!(default_profile(store).await, None);
    assert!(matches!(store.delete_storage_profile("p", "a").await, Err(StoreError::NotFound)));
}

/// Every case of the suite as a `#[tokio::test]`; `$open` is an expression whose `.await` gives a
/// fresh catalog and whatever must live as long as it (a directory, a server).
#[macro_export]
macro_rules! store_suite {
    ($open:expr) => {
        $crate::store_suite!(@cases $open;
            snapshot_names_are_unique_per_cluster_and_nothing_is_half_written,
            snapshot_pages_walk_the_listing_in_order,
            a_project_wide_name_is_held_once,
            snapshot_pages_keep_only_what_the_filter_lets_through,
            listings_keep_to_their_scope_and_window,
            scoped_reads_give_each_clusters_configs_locations_and_profiles_once,
            cluster_pages_walk_the_list_in_order,
            claims_lease_due_operations_once_until_released,
            operations_for_a_snapshot_need_its_expected_version,
            a_step_writes_nothing_once_its_lease_was_taken_over,
            a_step_never_brings_back_a_removed_snapshot_nor_clears_a_delete,
            a_fire_moves_the_schedule_once_even_when_its_name_is_taken,
            a_fire_waits_while_a_limit_is_reached,
            a_client_token_makes_one_snapshot_within_its_window,
            projects_and_clusters_refuse_deletion_while_in_use,
            a_project_has_at_most_two_active_keys_and_a_refused_rotation_changes_nothing,
            a_nonce_is_taken_once_per_key_until_forgotten,
            resealing_is_all_or_nothing,
            the_integrity_key_is_made_once_and_outlives_a_master_key_rotation,
            a_rotation_waits_for_live_replicas_and_a_rotated_key_announces_nothing,
            the_audit_log_pages_by_id_and_filters_by_project,
            a_reader_tailing_the_audit_log_misses_no_entry,
            fleet_facts_pick_each_clusters_newest_rows,
            one_default_per_project_and_names_are_unique,
            an_event_is_queued_once_and_a_claimed_delivery_is_posted_by_one_replica,
            reads_see_every_write_of_this_store_at_once,
            a_listing_sees_every_write_to_snapshots_at_once
        );
    };
    (@cases $open:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, _keep) = $open.await;
                $crate::suite::$case(&store).await;
            }
        )*
    };
}
