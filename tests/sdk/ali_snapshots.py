"""Alibaba CreateSnapshot, DescribeSnapshotSetting and UpdateSnapshotSetting through both official
SDKs (the Tea SDK signing ACS3 and ROA v1, and the old SDK with its form bodies), success and
error paths, with the key casing each SDK parses.

Env: SNAPKEEP_URL/AK/SK, INSTANCE_ID, PHASE ("first": settings and a ClientToken snapshot;
"after-restart": the same ClientToken again)."""

import json
import os

from alibabacloud_elasticsearch20170613 import models
from aliyunsdkelasticsearch.request.v20170613.CreateSnapshotRequest import CreateSnapshotRequest
from aliyunsdkelasticsearch.request.v20170613.DescribeSnapshotSettingRequest import DescribeSnapshotSettingRequest
from aliyunsdkelasticsearch.request.v20170613.UpdateSnapshotSettingRequest import UpdateSnapshotSettingRequest

from ali_common import Old, old_error, tea, tea_error
from common import check

instance = os.environ["INSTANCE_ID"]
new, v1, old = tea(), tea(v1=True), Old()

if os.environ["PHASE"] == "after-restart":
    again = new.create_snapshot(instance, models.CreateSnapshotRequest(client_token="nightly-2026-11-23"))
    check(again.body.result is True and again.body.request_id, f"replayed {again.body}")
    print("after-restart ok")
    raise SystemExit(0)

# --- settings: defaults, updates with both casings, every SDK ------------------------------
described = new.describe_snapshot_setting(instance).body.result
check(described.enable is False and described.quartz_regex == "0 0 01 ? * * *", f"default {described}")
updated = new.update_snapshot_setting(instance, models.UpdateSnapshotSettingRequest(body=json.dumps({"enable": True, "quartzRegex": "0 0 2 ? * MON-FRI *"}))).body.result
check(updated.enable is True and updated.quartz_regex == "0 0 2 ? * MON-FRI *", f"update answered lowercase keys: {updated}")
described = v1.describe_snapshot_setting(instance).body.result
check(described.enable is True and described.quartz_regex == "0 0 2 ? * MON-FRI *", f"described with capitalised keys: {described}")

request = UpdateSnapshotSettingRequest()
request.set_InstanceId(instance)
request.set_body(json.dumps({"enable": "True", "quartzRegex": "0 0/30 * * * ?"}))
answer = old.call(request)
check(answer["Result"] == {"enable": True, "quartzRegex": "0 0/30 * * * ?", "indices": []} and answer["RequestId"], f"old SDK form body: {answer}")
request = DescribeSnapshotSettingRequest()
request.set_InstanceId(instance)
answer = old.call(request)
check(answer["Result"]["Enable"] is True and answer["Result"]["QuartzRegex"] == "0 0/30 * * * ?", f"old SDK describe: {answer}")

# --- setting errors, and they change nothing -----------------------------------------------------
for bad in ["0 0 1 * *", "0 0 25 ? * * *", "every day", "0 0 1 ? * * 1999", "0 0 1 15 * MON", "0 0 1 ? * ?"]:
    tea_error(lambda: new.update_snapshot_setting(instance, models.UpdateSnapshotSettingRequest(body=json.dumps({"enable": True, "quartzRegex": bad}))), 400, "InvalidParameter")
tea_error(lambda: new.update_snapshot_setting(instance, models.UpdateSnapshotSettingRequest(body=json.dumps({"enable": True}))), 400, "InvalidParameter")
tea_error(lambda: new.update_snapshot_setting(instance, models.UpdateSnapshotSettingRequest(body=json.dumps({"enable": "maybe"}))), 400, "InvalidParameter")
tea_error(lambda: new.update_snapshot_setting(instance, models.UpdateSnapshotSettingRequest(body="{not json")), 400, "InvalidParameter")
check(new.describe_snapshot_setting(instance).body.result.quartz_regex == "0 0/30 * * * ?", "refused updates changed nothing")
tea_error(lambda: new.describe_snapshot_setting("es-no-such-instance"), 404, "InstanceNotFound")
tea_error(lambda: new.update_snapshot_setting("es-no-such-instance", models.UpdateSnapshotSettingRequest(body=json.dumps({"enable": False}))), 400, "InstanceNotFound")
request = DescribeSnapshotSettingRequest()
request.set_InstanceId("es-no-such-instance")
old_error(lambda: old.call(request), 404, "InstanceNotFound")
tea_error(lambda: tea(ak="NOSUCHKEY", sk="x").describe_snapshot_setting(instance), 400, "InvalidAccessKeyId.NotFound")
tea_error(lambda: tea(sk="not-the-secret").describe_snapshot_setting(instance), 400, "SignatureDoesNotMatch")
tea_error(lambda: tea(sk="not-the-secret", v1=True).describe_snapshot_setting(instance), 400, "SignatureDoesNotMatch")
# The Tea SDK's ROA mode sends a body without Content-MD5: its signature does not cover the body.
unbound = models.UpdateSnapshotSettingRequest(body=json.dumps({"enable": False}))
tea_error(lambda: v1.update_snapshot_setting(instance, unbound), 400, "InvalidParameter.ContentMD5")
old_error(lambda: Old(sk="not-the-secret").call(request), 400, "SignatureDoesNotMatch")
off = new.update_snapshot_setting(instance, models.UpdateSnapshotSettingRequest(body=json.dumps({"enable": False}))).body.result
check(off.enable is False and off.quartz_regex == "0 0/30 * * * ?", f"turning off keeps the schedule: {off}")

# --- CreateSnapshot -----------------------------------------------------------------------------
first = new.create_snapshot(instance, models.CreateSnapshotRequest(client_token="nightly-2026-11-23"))
check(first.body.result is True and first.body.request_id, f"{first.body}")
again = v1.create_snapshot(instance, models.CreateSnapshotRequest(client_token="nightly-2026-11-23"))
check(again.body.result is True, "the same token answers the same")
request = CreateSnapshotRequest()
request.set_InstanceId(instance)
request.set_ClientToken("nightly-2026-11-23")
check(old.call(request)["Result"] is True, "the old SDK too")
tea_error(lambda: new.create_snapshot(instance, models.CreateSnapshotRequest(client_token="x" * 65)), 400, "InvalidParameter")
tea_error(lambda: new.create_snapshot("es-no-such-instance", models.CreateSnapshotRequest(client_token="t")), 400, "InstanceNotFound")
print("first ok")
