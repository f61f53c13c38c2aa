"""Every validation rule of the CSS snapshot API through the official SDK, each answered with its
CSS code, and none of them changing anything.

Env: SNAPKEEP_URL/PROJECT/AK/SK (tenant A), OTHER_PROJECT/OTHER_AK/OTHER_SK (tenant B),
CLUSTER_URL, CLUSTER_ID (A's), OTHER_CLUSTER_ID (B's), INDEX (open on A's cluster)."""

import os

from huaweicloudsdkcss.v1 import (
    CreateSnapshotReq, CreateSnapshotRequest, DeleteSnapshotRequest, ListSnapshotsRequest,
    RestoreSnapshotReq, RestoreSnapshotRequest,
)

from common import check, css_client, engine, expect_error, wait_for

client = css_client()
other = css_client(os.environ["OTHER_AK"], os.environ["OTHER_SK"], os.environ["OTHER_PROJECT"])
cluster = os.environ["CLUSTER_ID"]
other_cluster = os.environ["OTHER_CLUSTER_ID"]
index = os.environ["INDEX"]


def create(cluster_id=cluster, api=client, **body):
    return api.create_snapshot(CreateSnapshotRequest(cluster_id=cluster_id, body=CreateSnapshotReq(**body)))


def restore(snapshot_id, **body):
    return client.restore_snapshot(RestoreSnapshotRequest(cluster_id=cluster, snapshot_id=snapshot_id, body=RestoreSnapshotReq(**body)))


def listed(api=client, cluster_id=cluster):
    return api.list_snapshots(ListSnapshotsRequest(cluster_id=cluster_id)).backups or []


# --- create: name -----------------------------------------------------------------------
for bad_name in ["abc", "1snap", "_snap", "-snap", "Snap", "snap shot", "snap.1", "snap/1", "snäp", "s" * 65]:
    expect_error(lambda: create(name=bad_name), 400, "CSS.0001", "name")
expect_error(lambda: create(), 400, "CSS.0001", "name")

# --- create: description ----------------------------------------------------------------
for char in "!<>=&\"'":
    expect_error(lambda: create(name="snap_desc", description=f"a{char}b"), 400, "CSS.0001", "description")
expect_error(lambda: create(name="snap_desc", description="x" * 257), 400, "CSS.0001", "description")

# --- create: indices --------------------------------------------------------------------
for bad in ["Logs", "logs 1", "a\"b", "a\\b", "a<b", "a|b", "a>b", "a/b", "a?b", "a" * 1025]:
    expect_error(lambda: create(name="snap_idx", indices=bad), 400, "CSS.0001", "indices")

# --- authentication: the SDK's own signatures, refused as the API gateway refuses them -------
wrong_secret = css_client(sk="not-the-secret")
expect_error(lambda: create(api=wrong_secret, name="snap_unsigned"), 401, "APIGW.0301", "signature does not match")
unknown_key = css_client(ak="NOSUCHKEY0000")
expect_error(lambda: create(api=unknown_key, name="snap_unsigned"), 401, "APIGW.0301", "does not exist")
borrowed = css_client(project=os.environ["OTHER_PROJECT"])
expect_error(lambda: create(api=borrowed, cluster_id=other_cluster, name="snap_borrowed"), 403, "APIGW.0302")

# --- tenancy: another project's cluster does not exist -----------------------------------
expect_error(lambda: create(cluster_id=other_cluster, name="snap_other"), 404, "CSS.3027")
expect_error(lambda: listed(cluster_id=other_cluster), 404, "CSS.3027")
expect_error(lambda: create(api=other, name="snap_other"), 404, "CSS.3027")
expect_error(lambda: create(cluster_id="no-such-cluster", name="snap_none"), 404, "CSS.3027")

# --- a good snapshot, then its duplicate --------------------------------------------------
good = create(name="snap_good", description="ok (fine)", indices=index).backup
wait_for("COMPLETED", lambda: any(b.id == good.id and b.status == "COMPLETED" for b in listed()))
expect_error(lambda: create(name="snap_good"), 409, "CSS.0043")

# --- restore rules --------------------------------------------------------------------------
expect_error(lambda: restore(good.id), 400, "CSS.0001", "target_cluster")
expect_error(lambda: restore(good.id, target_cluster=cluster, rename_pattern="logs(.+)"), 400, "CSS.0001", "rename_replacement")
expect_error(lambda: restore(good.id, target_cluster=cluster, rename_replacement="copy$1"), 400, "CSS.0001", "rename_pattern")
expect_error(lambda: restore(good.id, target_cluster=cluster, rename_pattern="a,b", rename_replacement="c"), 400, "CSS.0001", "rename_pattern")
expect_error(lambda: restore(good.id, target_cluster=cluster, rename_pattern="x", rename_replacement="Y"), 400, "CSS.0001", "rename_replacement")
expect_error(lambda: restore(good.id, target_cluster=cluster, rename_pattern="(unclosed", rename_replacement="x"), 400, "CSS.0001", "rename_pattern")
# Target names computed as the engines compute them (Java's Matcher.replaceAll), refused before sending.
expect_error(lambda: restore(good.id, target_cluster=cluster, rename_pattern=index, rename_replacement="copy-$1"), 400, "CSS.0001", "No group 1")
expect_error(lambda: restore(good.id, target_cluster=cluster, rename_pattern=index, rename_replacement="_copy"), 400, "CSS.0001", "must not start with '_'")
expect_error(lambda: restore(good.id, target_cluster=cluster, rename_pattern=index, rename_replacement="copy$x"), 400, "CSS.0001", "Illegal group reference")
expect_error(lambda: restore(good.id, target_cluster=cluster, indices="Bad"), 400, "CSS.0001", "indices")
expect_error(lambda: restore(good.id, target_cluster=cluster, indices="not-in-snapshot"), 400, "CSS.0001", "not in the snapshot")
expect_error(lambda: restore(good.id, target_cluster=other_cluster), 404, "CSS.3027", "target")
expect_error(lambda: restore("no-such-snapshot", target_cluster=cluster), 400, "CSS.5111")
expect_error(lambda: restore(good.id, target_cluster=cluster), 400, "CSS.6003", "replace_exist_indices")
expect_error(lambda: client.delete_snapshot(DeleteSnapshotRequest(cluster_id=cluster, snapshot_id="no-such-snapshot")), 400, "CSS.5111")
expect_error(lambda: other.delete_snapshot(DeleteSnapshotRequest(cluster_id=cluster, snapshot_id=good.id)), 404, "CSS.3027")

# --- nothing changed ----------------------------------------------------------------------
names = [b.name for b in listed()]
check(names == ["snap_good"], f"only the good snapshot is listed: {names}")
check(all(b.restore_status == "none" for b in listed()), "no refused restore left a trace")
status, on_cluster = engine("GET", "/_snapshot/snapkeep/_all")
check([s["snapshot"] for s in on_cluster["snapshots"]] == ["snap_good"], f"cluster holds {on_cluster}")
check(listed(api=other, cluster_id=other_cluster) == [], "tenant B sees none of it")

# --- restore under another name works and leaves the open index alone ----------------------
restore(good.id, target_cluster=cluster, rename_pattern="(.+)", rename_replacement="restored_$1")
wait_for("restore success", lambda: any(b.restore_status == "success" for b in listed()))
_, original = engine("GET", f"/{index}/_count")
_, copy = engine("GET", f"/restored_{index}/_count")
check(copy["count"] == original["count"] > 0, f"renamed copy has {copy}, original {original}")
print("validation ok")
