"""The DWS snapshot lifecycle of a PostgreSQL cluster through the official huaweicloudsdkdws,
unmodified: create (the seed's request and answer), the naming and description rules, detail
until AVAILABLE, list (all, per cluster with paging and order), delete, the snapshot policy, and
restore into a new cluster, with the DWS error codes for what is refused.
Prints {"kept", "deleted", "restored_cluster"} for the Rust side to check storage and data."""

import json
import os
import time

from huaweicloudsdkdws.v2 import (
    BackupStrategyRequest, CheckSnapshotReq, CheckSnapshotRequest, CreateSnapshotPolicyRequest,
    CreateSnapshotPolicyRequestBody, CreateSnapshotRequest, CreateSnapshotRequestBody, DeleteSnapshotPolicyRequest,
    DeleteSnapshotRequest, ListClusterSnapshotsRequest, ListSnapshotDetailsRequest, ListSnapshotPolicyRequest,
    ListSnapshotsRequest, Restore, RestoreClusterRequest, RestoreClusterRequestBody, Snapshot,
)

from common import expect_error
from dws_common import await_job, await_snapshot, dws_client

client = dws_client(os.environ["SNAPKEEP_URL"], os.environ["SNAPKEEP_AK"], os.environ["SNAPKEEP_SK"],
                    os.environ["SNAPKEEP_PROJECT"])
cluster = os.environ["DWS_CLUSTER"]


def create(name, description=None, cluster_id=cluster):
    body = CreateSnapshotRequestBody(snapshot=Snapshot(name=name, cluster_id=cluster_id, description=description))
    return client.create_snapshot(CreateSnapshotRequest(body=body)).snapshot.id


def snapshot_names(listed):
    return [s.name for s in listed.snapshots]


# Create: the seed's request and answer; the detail ends AVAILABLE with a size.
kept = create("Nightly-01", "first full backup")
detail = await_snapshot(client, kept, timeout=300)
assert detail.status == "AVAILABLE", f"{detail.status}: {detail}"
assert detail.type == "MANUAL" and detail.cluster_id == cluster and detail.description == "first full backup"
assert detail.size > 0 and detail.progress == "100%", detail
assert detail.started.endswith("Z") and detail.finished.endswith("Z"), (detail.started, detail.finished)
assert detail.datastore.type == "postgresql" and detail.datastore.version.startswith("15"), detail.datastore

# Names: 4-64 characters, a letter first, letters/digits/-/_, unique without case; descriptions
# at most 256 characters without !<>'=&". Nothing refused is created.
before = client.list_snapshots(ListSnapshotsRequest()).count
expect_error(lambda: create("nightly-01"), 400, "DWS.0001", "already exists")
for bad in ["abc", "1nightly", "night ly", "x" * 65]:
    expect_error(lambda: create(bad), 400, "DWS.0001", "name")
expect_error(lambda: create("described", "no <tags>"), 400, "DWS.0001", "description")
expect_error(lambda: create("described", "d" * 257), 400, "DWS.0001", "description")
expect_error(lambda: create("elsewhere", cluster_id="no-such-cluster"), 404, "DWS.0047")
expect_error(lambda: client.check_snapshot(CheckSnapshotRequest(body=CheckSnapshotReq(snapshot_name="NIGHTLY-01"))),
             400, "DWS.0001")
client.check_snapshot(CheckSnapshotRequest(body=CheckSnapshotReq(snapshot_name="weekly-02")))
assert client.list_snapshots(ListSnapshotsRequest()).count == before, "a refused create wrote nothing"
expect_error(lambda: client.list_snapshot_details(ListSnapshotDetailsRequest(snapshot_id="missing")), 400, "DWS.5111")

# A second and third snapshot; the per-cluster list pages by page index and orders.
second = create("weekly-02")
assert await_snapshot(client, second, timeout=300).status == "AVAILABLE"
deleted = create("scratch-03")
assert await_snapshot(client, deleted, timeout=300).status == "AVAILABLE"
page = client.list_cluster_snapshots(ListClusterSnapshotsRequest(cluster_id=cluster, limit=2, offset=0, sort_dir="asc"))
assert page.count == 3 and snapshot_names(page) == ["Nightly-01", "weekly-02"], (page.count, snapshot_names(page))
page = client.list_cluster_snapshots(ListClusterSnapshotsRequest(cluster_id=cluster, limit=2, offset=1, sort_dir="asc"))
assert snapshot_names(page) == ["scratch-03"], snapshot_names(page)
page = client.list_cluster_snapshots(ListClusterSnapshotsRequest(cluster_id=cluster, sort_key="name", sort_dir="desc"))
assert snapshot_names(page) == ["weekly-02", "scratch-03", "Nightly-01"], snapshot_names(page)
expect_error(lambda: client.list_cluster_snapshots(ListClusterSnapshotsRequest(cluster_id=cluster, limit=0)),
             400, "DWS.0001")

# Delete answers 202; the snapshot goes away.
response = client.delete_snapshot(DeleteSnapshotRequest(snapshot_id=deleted))
assert response.status_code == 202, response.status_code
for _ in range(300):
    if deleted not in [s.id for s in client.list_snapshots(ListSnapshotsRequest()).snapshots]:
        break
    __import__("time").sleep(0.1)
else:
    raise AssertionError("the deleted snapshot is still listed")
time.sleep(1.1)  # a new signed request, not a replay of the first delete (signatures have 1 s resolution)
expect_error(lambda: client.delete_snapshot(DeleteSnapshotRequest(snapshot_id=deleted)), 400, "DWS.5111")

# The policy: one full cluster strategy with a Quartz schedule, and its retention.
def put_policy(keep_day=None, strategies=None):
    body = CreateSnapshotPolicyRequestBody(keep_day=keep_day, backup_strategies=strategies)
    return client.create_snapshot_policy(CreateSnapshotPolicyRequest(cluster_id=cluster, body=body))


nightly = BackupStrategyRequest(policy_name="nightly-full", backup_strategy="0 0 2 ? * *", backup_type="full",
                                backup_level="cluster")
put_policy(7, [nightly])
policy = client.list_snapshot_policy(ListSnapshotPolicyRequest(cluster_id=cluster))
assert policy.keep_day == 7 and len(policy.backup_strategies) == 1, policy
strategy = policy.backup_strategies[0]
assert strategy.policy_name == "nightly-full" and strategy.backup_strategy == "0 0 2 ? * *", strategy
assert int(strategy.next_fire_time) > 0, strategy
expect_error(lambda: put_policy(40), 400, "DWS.5017")
expect_error(lambda: put_policy(7, [BackupStrategyRequest(policy_name="hourly-inc", backup_strategy="0 0 * ? * *",
                                                          backup_type="increment")]), 400, "DWS.0001")
expect_error(lambda: put_policy(7, [BackupStrategyRequest(policy_name="broken", backup_strategy="at two")]),
             400, "DWS.5018")
assert client.list_snapshot_policy(ListSnapshotPolicyRequest(cluster_id=cluster)).keep_day == 7, "refusals change nothing"
client.delete_snapshot_policy(DeleteSnapshotPolicyRequest(cluster_id=cluster, id=strategy.policy_id))
assert client.list_snapshot_policy(ListSnapshotPolicyRequest(cluster_id=cluster)).backup_strategies == []
time.sleep(1.1)  # the same delete a second later: a new request, refused
expect_error(lambda: client.delete_snapshot_policy(DeleteSnapshotPolicyRequest(cluster_id=cluster, id="nightly-full")),
             403, "DWS.0015")

# Restore into a new cluster: names follow the rule and are unique; the job ends SUCCESS.
def restore(name, port):
    body = RestoreClusterRequestBody(restore=Restore(name=name, port=port, vpc_id="ignored", subnet_id="ignored"))
    return client.restore_cluster(RestoreClusterRequest(snapshot_id=kept, body=body))


expect_error(lambda: restore("warehouse", int(os.environ["DWS_RESTORE_PORT"])), 409, "DWS.5050")
expect_error(lambda: restore("r1", int(os.environ["DWS_RESTORE_PORT"])), 400, "DWS.0001")
expect_error(lambda: restore("restored-copy", 80), 400, "DWS.0001", "port")
restored = restore("restored-copy", int(os.environ["DWS_RESTORE_PORT"]))
job = await_job(client, restored.job_id, timeout=300)
assert job.status == "SUCCESS", f"{job.status}: {job.failed_detail}"
print(json.dumps({"kept": kept, "deleted": deleted, "restored_cluster": restored.cluster.id}))
