"""Shared helpers of the DWS scripts: the official DWS client pointed at snapkeep, the admin API,
and polling of snapshots and jobs until they end."""

import json
import os
import time
import urllib.request

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkdws.v2 import DwsClient, ListJobDetailsRequest, ListSnapshotDetailsRequest


def dws_client(url, ak, sk, project):
    credentials = BasicCredentials(ak, sk, project)
    return DwsClient.new_builder().with_credentials(credentials).with_endpoints([url]).build()


def admin(url, token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path, data=data, method=method,
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def await_snapshot(client, snapshot_id, timeout=600.0, every=0.05):
    """Polls a snapshot until it leaves CREATING; returns its detail."""
    deadline = time.monotonic() + timeout
    while True:
        detail = client.list_snapshot_details(ListSnapshotDetailsRequest(snapshot_id=snapshot_id)).snapshot
        if detail.status != "CREATING":
            return detail
        if time.monotonic() > deadline:
            raise AssertionError(f"snapshot {snapshot_id} still CREATING after {timeout} s")
        time.sleep(every)


def await_job(client, job_id, timeout=600.0, every=0.05):
    """Polls a job until it leaves RUNNING; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.list_job_details(ListJobDetailsRequest(job_id=job_id))
        if job.status != "RUNNING":
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still RUNNING after {timeout} s")
        time.sleep(every)
