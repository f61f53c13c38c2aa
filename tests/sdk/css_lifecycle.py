"""The CSS snapshot lifecycle through the official huaweicloudsdkcss SDK: create, list until
COMPLETED, lose the index, restore, count the documents back, delete, and see it gone from
snapkeep and from the cluster.

Env: SNAPKEEP_URL/PROJECT/AK/SK, ESSIM_URL, CLUSTER_ID, INDEX, DOCS, FLAVOR, VERSION."""

import os

from huaweicloudsdkcss.v1 import (
    CreateSnapshotReq, CreateSnapshotRequest, DeleteSnapshotRequest, ListSnapshotsRequest,
    RestoreSnapshotReq, RestoreSnapshotRequest,
)

from common import check, css_client, essim, wait_for

client = css_client()
cluster = os.environ["CLUSTER_ID"]
index = os.environ["INDEX"]
docs = int(os.environ["DOCS"])


def backup(snapshot_id):
    listed = client.list_snapshots(ListSnapshotsRequest(cluster_id=cluster)).backups or []
    return next((b for b in listed if b.id == snapshot_id), None)


created = client.create_snapshot(CreateSnapshotRequest(
    cluster_id=cluster,
    body=CreateSnapshotReq(name="nightly_001", description="before the upgrade", indices=index + "*"),
))
snapshot_id = created.backup.id
check(created.backup.name == "nightly_001", f"create answered {created.backup}")

first = backup(snapshot_id)
check(first is not None and first.status in ("BUILDING", "COMPLETED"), f"new backup listed as {first}")
check(first.restore_status == "none", f"restoreStatus starts as none: {first}")

done = wait_for("COMPLETED", lambda: (lambda b: b if b and b.status != "BUILDING" else None)(backup(snapshot_id)))
check(done.status == "COMPLETED", f"snapshot ended {done.status}")
check(done.indices == index, f"indices {done.indices!r}")
check(done.total_shards >= 1 and done.failed_shards == 0, f"shards {done.total_shards}/{done.failed_shards}")
check(done.datastore.type == os.environ["FLAVOR"] and done.datastore.version == os.environ["VERSION"], f"datastore {done.datastore}")
check(done.cluster_id == cluster and done.backup_method == "manual" and done.backup_type == "1", f"{done}")
check(done.start_time > 0 and done.end_time >= done.start_time, f"times {done.start_time}..{done.end_time}")
check(done.description == "before the upgrade", f"description {done.description!r}")

status, _ = essim("DELETE", "/" + index)
check(status == 200, f"deleting the index answered {status}")
status, _ = essim("GET", f"/{index}/_count")
check(status == 404, "the index is gone before the restore")

client.restore_snapshot(RestoreSnapshotRequest(
    cluster_id=cluster, snapshot_id=snapshot_id, body=RestoreSnapshotReq(target_cluster=cluster),
))
restored = wait_for("restore to end", lambda: (lambda b: b if b and b.restore_status != "restoring" else None)(backup(snapshot_id)))
check(restored.restore_status == "success", f"restoreStatus {restored.restore_status}")
status, counted = essim("GET", f"/{index}/_count")
check(status == 200 and counted["count"] == docs, f"{counted} documents after restore, expected {docs}")

client.delete_snapshot(DeleteSnapshotRequest(cluster_id=cluster, snapshot_id=snapshot_id))
wait_for("the snapshot to leave the list", lambda: backup(snapshot_id) is None)
status, on_cluster = essim("GET", "/_snapshot/snapkeep/_all")
check(status == 200 and not on_cluster["snapshots"], f"still on the cluster: {on_cluster}")
print("lifecycle ok")
