"""The CSS automatic-snapshot endpoints through the official huaweicloudsdkcss SDK (v1 and v2):
policy, basic settings, auto_setting, disabling snapshots, v2 open/close, and the cluster views
clients read — every success path and every validation error with its CSS code, none of which
changes anything.

Env: SNAPKEEP_URL/PROJECT/AK/SK, CLUSTER_ID."""

import os
import time

from huaweicloudsdkcss.v1 import (
    CreateAutoCreatePolicyRequest, ListClustersDetailsRequest, SetRDSBackupCnfReq, ShowAutoCreatePolicyRequest,
    ShowClusterDetailRequest, StartAutoSettingRequest, StopSnapshotRequest, UpdateSnapshotSettingReq,
    UpdateSnapshotSettingRequest,
)
from huaweicloudsdkcss.v2 import CssClient as CssClientV2
from huaweicloudsdkcss.v2 import (
    StartAutoCreateSnapshotsReq, StartAutoCreateSnapshotsRequest, StopAutoCreateSnapshotsRequest,
)
from huaweicloudsdkcore.auth.credentials import BasicCredentials

from common import check, css_client, expect_error

client = css_client()
v2 = (CssClientV2.new_builder()
      .with_credentials(BasicCredentials(os.environ["SNAPKEEP_AK"], os.environ["SNAPKEEP_SK"], os.environ["SNAPKEEP_PROJECT"]))
      .with_endpoints([os.environ["SNAPKEEP_URL"]]).build())
cluster = os.environ["CLUSTER_ID"]


def show():
    return client.show_auto_create_policy(ShowAutoCreatePolicyRequest(cluster_id=cluster))


def set_policy(**body):
    return client.create_auto_create_policy(CreateAutoCreatePolicyRequest(cluster_id=cluster, body=SetRDSBackupCnfReq(**body)))


def settings(**body):
    return client.update_snapshot_setting(UpdateSnapshotSettingRequest(cluster_id=cluster, body=UpdateSnapshotSettingReq(**body)))


def detail():
    return client.show_cluster_detail(ShowClusterDetailRequest(cluster_id=cluster))


# --- defaults ------------------------------------------------------------------------------
policy = show()
check(policy.enable == "false" and policy.frequency == "DAY" and policy.keepday == 7, f"default policy {policy}")
check(detail().backup_available is True, "snapshots are available by default")

# --- policy rules ----------------------------------------------------------------------------
good = dict(enable="true", prefix="nightly", period="16:00 GMT+08:00", keepday=2, frequency="DAY", indices="logs-*")
expect_error(lambda: set_policy(**{**good, "enable": None}), 400, "CSS.0001", "enable")
expect_error(lambda: set_policy(**{**good, "enable": "yes"}), 400, "CSS.0001", "enable")
expect_error(lambda: set_policy(**{**good, "prefix": None}), 400, "CSS.0001", "prefix")
for bad in ["Nightly", "1nightly", "night.ly", "n" * 33]:
    expect_error(lambda: set_policy(**{**good, "prefix": bad}), 400, "CSS.5044")
for bad in [0, 91, -1]:
    expect_error(lambda: set_policy(**{**good, "keepday": bad}), 400, "CSS.5017")
expect_error(lambda: set_policy(**{**good, "keepday": None}), 400, "CSS.0001", "keepday")
for bad in ["16:30 GMT+08:00", "25:00 GMT+08:00", "16:00", "16:00 UTC", "4pm"]:
    expect_error(lambda: set_policy(**{**good, "period": bad}), 400, "CSS.5018")
expect_error(lambda: set_policy(**{**good, "period": None}), 400, "CSS.0001", "period")
expect_error(lambda: set_policy(**{**good, "frequency": "WEEKLY"}), 400, "CSS.0001", "frequency")
expect_error(lambda: set_policy(**{**good, "indices": "Logs"}), 400, "CSS.0001", "indices")
expect_error(lambda: set_policy(enable="false", delete_auto="maybe"), 400, "CSS.0001", "delete_auto")
check(show().enable == "false", "refused policies changed nothing")

set_policy(**good)
policy = show()
check((policy.enable, policy.prefix, policy.period, policy.keepday, policy.frequency, policy.indices)
      == ("true", "nightly", "16:00 GMT+08:00", 2, "DAY", "logs-*"), f"stored policy {policy}")
d = detail()
check(d.snapshot_policy.backup_enable is True and d.snapshot_policy.bak_period == "16:00 GMT+08:00"
      and d.snapshot_policy.bak_frequency == "DAY" and d.snapshot_policy.bak_keep_day == 2, f"cluster view {d.snapshot_policy}")
set_policy(enable="true", prefix="hourly", keepday=1, frequency="HOUR")
check(show().frequency == "HOUR", "hourly needs no period")
set_policy(enable="true", prefix="weekly", keepday=30, frequency="MON", period="02:00 GMT-05:00")
check(show().period == "02:00 GMT-05:00", "weekly policy stored")

# --- basic settings ---------------------------------------------------------------------------
expect_error(lambda: settings(bucket="Not_A_Bucket"), 400, "CSS.0001", "bucket")
expect_error(lambda: settings(agency="bad agency"), 400, "CSS.5130")
for bad in ["/abs", "a/../b", "a:b", "trail.", "x" * 513]:
    expect_error(lambda: settings(base_path=bad), 400, "CSS.0001", "base_path")
for bad in ["10000mb", "1.5mb", "10xb"]:
    expect_error(lambda: settings(max_snapshot_bytes_per_seconds=bad), 400, "CSS.0001", "max_snapshot_bytes_per_seconds")
    expect_error(lambda: settings(max_restore_bytes_per_seconds=bad), 400, "CSS.0001", "max_restore_bytes_per_seconds")
expect_error(lambda: settings(bucket="es-backup", enable="true", prefix="Bad"), 400, "CSS.5044")
expect_error(lambda: settings(agency="nobody"), 400, "CSS.5130", "nobody")
expect_error(lambda: settings(agency="usearch", bucket="no-such-bucket"), 400, "CSS.0048", "no-such-bucket")
check(show().bucket is None and show().agency is None and show().prefix == "weekly", "refused settings changed nothing")
settings(bucket="es-backup", agency="usearch", base_path="css_repository/tests",
         max_snapshot_bytes_per_seconds="40m", max_restore_bytes_per_seconds="0mb")
policy = show()
check((policy.bucket, policy.base_path, policy.agency, policy.max_snapshot_bytes_per_seconds, policy.max_restore_bytes_per_seconds)
      == ("es-backup", "css_repository/tests", "usearch", "40MB", "0MB"), f"settings {policy}")

# --- disable, twice, and enable again ------------------------------------------------------------
client.stop_snapshot(StopSnapshotRequest(cluster_id=cluster))
d = detail()
check(d.backup_available is False and d.snapshot_policy.backup_enable is False, f"disabled {d}")
# The same call signed in the same second is the same signed request, answered once (a replay);
# a second later it is a new call.
time.sleep(1.1)
expect_error(lambda: client.stop_snapshot(StopSnapshotRequest(cluster_id=cluster)), 415, "CSS.0004")
check(detail().backup_available is False, "disabling twice changed nothing")
client.start_auto_setting(StartAutoSettingRequest(cluster_id=cluster))
check(detail().backup_available is True and show().enable == "false", "auto_setting turns snapshots on, policy stays off")

# --- v2 open / close ------------------------------------------------------------------------------
expect_error(lambda: v2.start_auto_create_snapshots(StartAutoCreateSnapshotsRequest(cluster_id=cluster, body=StartAutoCreateSnapshotsReq(prefix="v2snap"))), 400, "CSS.0001", "keepday")
v2.start_auto_create_snapshots(StartAutoCreateSnapshotsRequest(cluster_id=cluster, body=StartAutoCreateSnapshotsReq(keepday=3, prefix="v2snap", period="00:00 GMT+00:00", frequency="DAY")))
check(show().enable == "true" and show().prefix == "v2snap", "v2 open")
v2.stop_auto_create_snapshots(StopAutoCreateSnapshotsRequest(cluster_id=cluster))
check(show().enable == "false" and detail().backup_available is True, "v2 close turns the policy off only")

# --- cluster list, tenancy -------------------------------------------------------------------------
listed = client.list_clusters_details(ListClustersDetailsRequest())
check(listed.total_size == 1 and listed.clusters[0].id == cluster, f"cluster list {listed}")
past = client.list_clusters_details(ListClustersDetailsRequest(offset=2, limit=5))
check(past.total_size == 1 and not past.clusters, f"a page past the last cluster {past}")
expect_error(lambda: client.show_cluster_detail(ShowClusterDetailRequest(cluster_id="no-such-cluster")), 404, "CSS.3027")
expect_error(lambda: client.show_auto_create_policy(ShowAutoCreatePolicyRequest(cluster_id="no-such-cluster")), 404, "CSS.3027")
print("policy ok")
