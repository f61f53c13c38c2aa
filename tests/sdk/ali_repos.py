"""Alibaba reference repositories through both official SDKs: AddSnapshotRepo,
ListAlternativeSnapshotRepos, ListSnapshotReposByInstanceId (with a live status),
DeleteSnapshotRepo; the refusals for another tenant, another region and a newer source; a
restore from the reference repository with the engine's own API, and writes to it refused.

Env: SNAPKEEP_URL/AK/SK, CLUSTER_URL (the target's), REPO_ROOT, SNAPSHOT (on es-b)."""

import json
import os

from alibabacloud_elasticsearch20170613 import models
from aliyunsdkelasticsearch.request.v20170613.AddSnapshotRepoRequest import AddSnapshotRepoRequest
from aliyunsdkelasticsearch.request.v20170613.DeleteSnapshotRepoRequest import DeleteSnapshotRepoRequest
from aliyunsdkelasticsearch.request.v20170613.ListAlternativeSnapshotReposRequest import ListAlternativeSnapshotReposRequest
from aliyunsdkelasticsearch.request.v20170613.ListSnapshotReposByInstanceIdRequest import ListSnapshotReposByInstanceIdRequest

from ali_common import Old, old_error, tea, tea_error
from common import check, engine

new, old = tea(), Old()
target = "es-a"


def add(source):
    return new.add_snapshot_repo(target, models.AddSnapshotRepoRequest(body=json.dumps({"repoPath": source})))


def alternatives(already_set=None):
    request = models.ListAlternativeSnapshotReposRequest(already_set_items=already_set)
    return sorted(r.instance_id for r in new.list_alternative_snapshot_repos(target, request).body.result or [])


def listed():
    return {r.repo_path: (r.instance_id, r.snap_warehouse, r.status) for r in new.list_snapshot_repos_by_instance_id(target).body.result or []}


# --- eligible sources: same tenant and region, same or older version, not the target itself ------
check(alternatives() == ["es-b", "es-c"], f"alternatives {alternatives()}")

# --- refusals, each with its own code; another tenant looks like a missing instance ----------------
tea_error(lambda: add("es-d"), 400, "RepoPath.VersionNotSupported")
tea_error(lambda: add("es-e"), 400, "RepoPath.RegionMismatch")
tea_error(lambda: add("es-x"), 400, "RepoPath.NotFound")
tea_error(lambda: add("es-nope"), 400, "RepoPath.NotFound")
tea_error(lambda: add(target), 400, "InvalidParameter")
tea_error(lambda: new.add_snapshot_repo(target, models.AddSnapshotRepoRequest(body="{}")), 400, "InvalidParameter")
tea_error(lambda: new.add_snapshot_repo("es-nope", models.AddSnapshotRepoRequest(body=json.dumps({"repoPath": "es-b"}))), 400, "InstanceNotFound")
check(listed() == {}, "refusals added nothing")

# --- add with both SDKs --------------------------------------------------------------------------
check(add("es-b").body.result is True, "added es-b")
request = AddSnapshotRepoRequest()
request.set_InstanceId(target)
request.set_body(json.dumps({"repoPath": "es-c"}))
check(old.call(request)["Result"] is True, "added es-c through the old SDK's form body")
tea_error(lambda: add("es-b"), 409, "SnapshotRepo.AlreadyExists")
check(listed() == {"es-b": ("es-b", "aliyun_snapshot_from_es-b", "available"),
                   "es-c": ("es-c", "aliyun_snapshot_from_es-c", "available")}, f"listed {listed()}")
request = ListSnapshotReposByInstanceIdRequest()
request.set_InstanceId(target)
answer = old.call(request)
check(sorted(r["snapWarehouse"] for r in answer["Result"]) == ["aliyun_snapshot_from_es-b", "aliyun_snapshot_from_es-c"] and answer["RequestId"], f"old SDK list {answer}")
check(alternatives() == [], "already set sources are left out by default")
check(alternatives(True) == ["es-b", "es-c"], "and listed with alreadySetItems")
request = ListAlternativeSnapshotReposRequest()
request.set_InstanceId(target)
request.set_alreadySetItems("True")
check(sorted(r["instanceId"] for r in old.call(request)["Result"]) == ["es-b", "es-c"], "alreadySetItems=True from the old SDK")

# --- the engine sees it read-only: restore works, writes do not --------------------------------------
snapshot = os.environ["SNAPSHOT"]
status, restored = engine("POST", f"/_snapshot/aliyun_snapshot_from_es-b/{snapshot}/_restore?wait_for_completion=true",
                         {"indices": "orders", "rename_pattern": "orders", "rename_replacement": "orders_from_b"})
check(status == 200, f"restore from the reference repository: {restored}")
status, counted = engine("GET", "/orders_from_b/_count")
check(counted["count"] == 25, f"restored documents {counted}")
status, refused = engine("PUT", "/_snapshot/aliyun_snapshot_from_es-b/written-by-target", {})
check(status == 500 and "readonly" in refused["error"]["reason"], f"a write is refused: {status} {refused}")

# --- live status --------------------------------------------------------------------------------------
root = os.environ["REPO_ROOT"]
os.rename(os.path.join(root, "es-c"), os.path.join(root, "es-c.away"))
check(listed()["es-c"][2] == "unavailable", f"status follows the storage: {listed()}")
os.rename(os.path.join(root, "es-c.away"), os.path.join(root, "es-c"))
check(listed()["es-c"][2] == "available", "and comes back")

# --- delete --------------------------------------------------------------------------------------------
request = DeleteSnapshotRepoRequest()
request.set_InstanceId(target)
request.set_repoPath("es-c")
check(old.call(request)["Result"] is True, "deleted through the old SDK")
check(list(listed()) == ["es-b"], f"after delete {listed()}")
status, _ = engine("GET", "/_snapshot/aliyun_snapshot_from_es-c")
check(status == 404, "unregistered from the cluster")
tea_error(lambda: new.delete_snapshot_repo(target, models.DeleteSnapshotRepoRequest(repo_path="es-c")), 404, "SnapshotRepo.NotFound")
check(new.delete_snapshot_repo(target, models.DeleteSnapshotRepoRequest(repo_path="es-b")).body.result is True, "deleted es-b")
check(listed() == {}, "none left")
print("repos ok")
