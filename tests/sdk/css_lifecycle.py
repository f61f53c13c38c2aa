"""The CSS snapshot lifecycle through the official huaweicloudsdkcss SDK, on essim or a real
engine: create and list until COMPLETED; restore under another name; a restore over the open
index refused, then done with replace_exist_indices; a throttle that reaches the repository's
settings; a running snapshot deleted (aborted on the cluster); the finished one deleted. Restored
documents are compared with the originals, not only counted.

Env: SNAPKEEP_URL/PROJECT/AK/SK, CLUSTER_URL, CLUSTER_ID, INDEX, FLAVOR, VERSION, RUNNING_THROTTLE
(the snapshot rate that keeps a 100 KB snapshot running while it is deleted)."""

import json
import os

from huaweicloudsdkcss.v1 import (
    CreateSnapshotReq, CreateSnapshotRequest, DeleteSnapshotRequest, ListSnapshotsRequest,
    RestoreSnapshotReq, RestoreSnapshotRequest, UpdateSnapshotSettingReq, UpdateSnapshotSettingRequest,
)

from common import check, css_client, documents, engine, engine_bulk, expect_error, wait_for

client = css_client()
cluster = os.environ["CLUSTER_ID"]
index = os.environ["INDEX"]


def backup(snapshot_id):
    listed = client.list_snapshots(ListSnapshotsRequest(cluster_id=cluster)).backups or []
    return next((b for b in listed if b.id == snapshot_id), None)


def create(name, description=None):
    created = client.create_snapshot(CreateSnapshotRequest(
        cluster_id=cluster, body=CreateSnapshotReq(name=name, description=description, indices=index + "*"),
    ))
    check(created.backup.name == name, f"create answered {created.backup}")
    return created.backup.id


def restore(snapshot_id, **body):
    client.restore_snapshot(RestoreSnapshotRequest(
        cluster_id=cluster, snapshot_id=snapshot_id, body=RestoreSnapshotReq(target_cluster=cluster, **body),
    ))
    done = wait_for("restore to end", lambda: (lambda b: b if b and b.restore_status != "restoring" else None)(backup(snapshot_id)))
    check(done.restore_status == "success", f"restoreStatus {done.restore_status}: {done}")


def throttle(rate):
    client.update_snapshot_setting(UpdateSnapshotSettingRequest(
        cluster_id=cluster, body=UpdateSnapshotSettingReq(max_snapshot_bytes_per_seconds=rate),
    ))


def running_on_cluster():
    status, found = engine("GET", "/_snapshot/snapkeep/_current")
    check(status == 200, f"listing running snapshots answered {status}: {found}")
    return [s["snapshot"] for s in found["snapshots"]]


def snapshots_on_cluster():
    status, found = engine("GET", "/_snapshot/snapkeep/_all")
    check(status == 200, f"listing the repository answered {status}: {found}")
    return [s["snapshot"] for s in found["snapshots"]]


original = documents(index)
check(len(original) > 0, "the index has documents")

# --- create, list until COMPLETED -----------------------------------------------------------------
snapshot_id = create("nightly_001", "before the upgrade")
first = backup(snapshot_id)
check(first is not None and first.status in ("BUILDING", "COMPLETED"), f"new backup listed as {first}")
check(first.restore_status == "none", f"restoreStatus starts as none: {first}")
done = wait_for("COMPLETED", lambda: (lambda b: b if b and b.status != "BUILDING" else None)(backup(snapshot_id)))
check(done.status == "COMPLETED", f"snapshot ended {done.status}: {done}")
check(done.indices == index, f"indices {done.indices!r}")
check(done.total_shards >= 1 and done.failed_shards == 0, f"shards {done.total_shards}/{done.failed_shards}")
check(done.datastore.type == os.environ["FLAVOR"] and done.datastore.version == os.environ["VERSION"], f"datastore {done.datastore}")
check(done.cluster_id == cluster and done.backup_method == "manual" and done.backup_type == "1", f"{done}")
check(done.start_time > 0 and done.end_time >= done.start_time, f"times {done.start_time}..{done.end_time}")
check(done.description == "before the upgrade", f"description {done.description!r}")
check(snapshots_on_cluster() == ["nightly_001"], f"on the cluster: {snapshots_on_cluster()}")

# --- the index changes after the snapshot ------------------------------------------------------------
status, _ = engine("DELETE", f"/{index}/_doc/0?refresh=true")
check(status == 200, f"deleting a document answered {status}")
status, _ = engine("PUT", f"/{index}/_doc/added-later?refresh=true", {"n": -1, "text": "not in the snapshot"})
check(status in (200, 201), f"adding a document answered {status}")

# --- restore under another name: the snapshot's documents, exactly ------------------------------------
restore(snapshot_id, rename_pattern="(.+)", rename_replacement="restored_$1")
check(documents("restored_" + index) == original, "the renamed copy holds exactly the snapshot's documents")

# --- over the open index: refused, then replaced -------------------------------------------------------
expect_error(lambda: client.restore_snapshot(RestoreSnapshotRequest(
    cluster_id=cluster, snapshot_id=snapshot_id, body=RestoreSnapshotReq(target_cluster=cluster))),
    400, "CSS.6003", "replace_exist_indices")
check(backup(snapshot_id).restore_status == "success", "the refused restore left no trace")
check("added-later" in documents(index), "the refused restore changed nothing on the cluster")
restore(snapshot_id, replace_exist_indices=True)
check(documents(index) == original, "replace_exist_indices brought the snapshot's documents back")

# --- a throttle reaches the repository; a running snapshot is deleted ------------------------------------
# A new index of incompressible documents: a snapshot of data already snapshotted copies nothing and
# would end at once whatever the throttle.
fresh = index + "-fresh"
lines = []
for i in range(100):
    lines.append(json.dumps({"index": {"_index": fresh, "_id": str(i)}}))
    lines.append(json.dumps({"n": i, "noise": os.urandom(500).hex()}))
status, bulk = engine_bulk("\n".join(lines) + "\n")
check(status == 200 and not bulk["errors"], f"loading {fresh} answered {status}")
throttle(os.environ["RUNNING_THROTTLE"])
running_id = client.create_snapshot(CreateSnapshotRequest(
    cluster_id=cluster, body=CreateSnapshotReq(name="running_002", indices=fresh),
)).backup.id
wait_for("the throttled snapshot to run on the cluster", lambda: "running_002" in running_on_cluster())
check(backup(running_id).status == "BUILDING", f"a running snapshot is listed BUILDING: {backup(running_id)}")
status, repository = engine("GET", "/_snapshot/snapkeep")
check(status == 200 and repository["snapkeep"]["settings"].get("max_snapshot_bytes_per_sec") == os.environ["RUNNING_THROTTLE"],
      f"the repository's settings carry the throttle: {repository}")
client.delete_snapshot(DeleteSnapshotRequest(cluster_id=cluster, snapshot_id=running_id))
# Elasticsearch 7 answers the DELETE of a running snapshot only once its abort has finished, which
# a throttled snapshot on a loaded machine can take minutes to notice.
wait_for("the running snapshot to leave the list", lambda: backup(running_id) is None, timeout=240.0)
wait_for("the running snapshot to leave the cluster", lambda: "running_002" not in snapshots_on_cluster())
check("running_002" not in running_on_cluster(), "it no longer runs on the cluster")
throttle("0")

# --- delete the finished snapshot ---------------------------------------------------------------------
client.delete_snapshot(DeleteSnapshotRequest(cluster_id=cluster, snapshot_id=snapshot_id))
wait_for("the snapshot to leave the list", lambda: backup(snapshot_id) is None)
check(snapshots_on_cluster() == [], f"still on the cluster: {snapshots_on_cluster()}")
print("lifecycle ok")
