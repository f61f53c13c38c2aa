"""The snapkeep side of scripts/bench-postgres: registers the benchmark's PostgreSQL server with an
S3 profile, then BENCH_RUNS times (default 1) times a snapshot and a restore through the official
DWS SDK, from the request to AVAILABLE and to the job's SUCCESS, each after a sync, and for each
restore the seconds until the service logged its data directory written (BENCH_LOG, a JSON log).
Prints "<backup seconds> <restore seconds> <files-written seconds>", each comma-separated."""

import datetime
import json
import os
import subprocess
import sys
import time

from huaweicloudsdkdws.v2 import (
    CreateSnapshotRequest, CreateSnapshotRequestBody, RestoreClusterRequest, RestoreClusterRequestBody, Restore,
    Snapshot,
)

from dws_common import admin, await_job, await_snapshot, dws_client

url, token = os.environ["BENCH_URL"], os.environ["BENCH_TOKEN"]
project = admin(url, token, "POST", "/admin/v1/projects", {"name": "bench"})["id"]
key = admin(url, token, "POST", f"/admin/v1/projects/{project}/keys")
admin(url, token, "POST", f"/admin/v1/projects/{project}/storage-profiles", {
    "name": "bench-s3", "kind": "s3", "endpoint": os.environ["BENCH_S3"], "bucket": os.environ["BENCH_BUCKET"],
    "base_path": "snapkeep", "access_key_id": os.environ["BENCH_AK"], "secret_access_key": os.environ["BENCH_SK"],
    "default": True,
})
admin(url, token, "POST", "/admin/v1/clusters", {
    "project_id": project, "id": "bench-pg", "name": "bench-pg", "endpoint": os.environ["BENCH_PG"],
})
client = dws_client(url, key["access_key"], key["secret_key"], project)

def files_written(requested):
    """Seconds from the restore's request to the service's log line saying the data directory is
    written (the server not yet started): what zstd -d | tar -x does on the other side."""
    with open(os.environ["BENCH_LOG"]) as log:
        lines = [json.loads(line) for line in log if line.startswith("{")]
    written = [line["timestamp"] for line in lines
               if line.get("fields", {}).get("message", "").startswith("restore: the data directory is written")]
    if not written:
        sys.exit("the service logged no written data directory")
    at = datetime.datetime.fromisoformat(written[-1].replace("Z", "+00:00")).timestamp()
    return at - requested


backups, restores, files = [], [], []
for run in range(int(os.environ.get("BENCH_RUNS", "1"))):
    subprocess.run(["sync"], check=True)
    started = time.monotonic()
    created = client.create_snapshot(CreateSnapshotRequest(body=CreateSnapshotRequestBody(
        snapshot=Snapshot(name=f"bench-full-{run}", cluster_id="bench-pg"))))
    detail = await_snapshot(client, created.snapshot.id)
    backups.append(time.monotonic() - started)
    if detail.status != "AVAILABLE":
        sys.exit(f"the benchmark snapshot ended {detail.status}")

    subprocess.run(["sync"], check=True)
    started, requested = time.monotonic(), time.time()
    restore = client.restore_cluster(RestoreClusterRequest(snapshot_id=created.snapshot.id,
        body=RestoreClusterRequestBody(restore=Restore(name=f"bench-restored-{run}",
                                                       port=int(os.environ["BENCH_RESTORE_PORT"])))))
    job = await_job(client, restore.job_id)
    restores.append(time.monotonic() - started)
    if job.status != "SUCCESS":
        sys.exit(f"the benchmark restore ended {job.status}: {job.failed_detail}")
    files.append(files_written(requested))
    # The restored server is stopped and its directory removed before the next run.
    for cluster in admin(url, token, "GET", f"/admin/v1/clusters?project_id={project}")["clusters"]:
        if cluster["id"] != "bench-pg":
            admin(url, token, "DELETE", f"/admin/v1/clusters/{cluster['id']}")
print(*(",".join(f"{s:.2f}" for s in series) for series in (backups, restores, files)))
