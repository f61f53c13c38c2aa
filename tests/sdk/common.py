"""Shared helpers of the SDK scripts: the official CSS client pointed at snapkeep, a tiny
client for the search cluster, polling, and assertions that say what went wrong."""

import json
import os
import time
import urllib.request

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcss.v1 import CssClient


def css_client(ak=None, sk=None, project=None):
    credentials = BasicCredentials(
        ak or os.environ["SNAPKEEP_AK"],
        sk or os.environ["SNAPKEEP_SK"],
        project or os.environ["SNAPKEEP_PROJECT"],
    )
    return (
        CssClient.new_builder()
        .with_credentials(credentials)
        .with_endpoints([os.environ["SNAPKEEP_URL"]])
        .build()
    )


def engine(method, path, body=None):
    """Calls the search cluster (essim or a real engine) at CLUSTER_URL; returns (status, json)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        os.environ["CLUSTER_URL"] + path, data=data, method=method,
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def engine_bulk(ndjson):
    """Sends a `_bulk` body to the search cluster, refreshing; returns (status, json)."""
    request = urllib.request.Request(
        os.environ["CLUSTER_URL"] + "/_bulk?refresh=true", data=ndjson.encode(), method="POST",
        headers={"content-type": "application/x-ndjson"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


def wait_for(what, check, timeout=60.0):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def expect_error(call, status, code, contains=None):
    """Runs `call`, which must fail with this HTTP status and error code (any Huawei dialect)."""
    try:
        call()
    except exceptions.ClientRequestException as e:
        assert e.status_code == status, f"expected {status} {code}, got {e.status_code} {e.error_code}: {e.error_msg}"
        assert e.error_code == code, f"expected {code}, got {e.error_code}: {e.error_msg}"
        assert e.request_id, "every error carries X-Request-Id"
        if contains:
            assert contains in e.error_msg, f"{contains!r} not in {e.error_msg!r}"
        return e
    raise AssertionError(f"expected {status} {code}, but the call succeeded")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def documents(index):
    """Every document of an index as {id: source}: what a restore must bring back."""
    status, found = engine("POST", f"/{index}/_search", {"query": {"match_all": {}}, "size": 10000})
    check(status == 200, f"searching {index} answered {status}: {found}")
    return {hit["_id"]: hit["_source"] for hit in found["hits"]["hits"]}
