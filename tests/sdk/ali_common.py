"""Helpers of the Alibaba SDK scripts: the current Tea SDK (ACS3 signing, or ROA v1 with
signature_algorithm="v2") and the old aliyun-python-sdk-elasticsearch, pointed at snapkeep."""

import json
import os
from urllib.parse import urlparse

from alibabacloud_elasticsearch20170613.client import Client as TeaClient
from alibabacloud_tea_openapi import models as open_api_models
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from Tea.exceptions import TeaException

HOST = urlparse(os.environ["SNAPKEEP_URL"]).netloc


def tea(ak=None, sk=None, v1=False):
    config = open_api_models.Config(
        access_key_id=ak or os.environ["SNAPKEEP_AK"],
        access_key_secret=sk or os.environ["SNAPKEEP_SK"],
        endpoint=HOST,
        protocol="http",
    )
    if v1:
        config.signature_algorithm = "v2"
    return TeaClient(config)


class Old:
    """The old SDK: build a request, send it to snapkeep, answer the parsed JSON."""

    def __init__(self, ak=None, sk=None):
        self.client = AcsClient(ak or os.environ["SNAPKEEP_AK"], sk or os.environ["SNAPKEEP_SK"], "cn-hangzhou")

    def call(self, request):
        request.set_endpoint(HOST)
        request.set_protocol_type("http")
        return json.loads(self.client.do_action_with_exception(request))


def tea_error(call, status, code):
    try:
        call()
    except TeaException as e:
        got = (e.data or {}).get("statusCode") if isinstance(e.data, dict) else None
        assert e.code == code, f"expected {code}, got {e.code}: {e.message}"
        if got is not None:
            assert got == status, f"expected HTTP {status}, got {got}"
        return e
    raise AssertionError(f"expected {code}, but the call succeeded")


def old_error(call, status, code):
    try:
        call()
    except (ServerException, ClientException) as e:
        assert e.get_error_code() == code, f"expected {code}, got {e.get_error_code()}: {e.get_error_msg()}"
        if isinstance(e, ServerException):
            assert e.get_http_status() == status, f"expected HTTP {status}, got {e.get_http_status()}"
            assert e.get_request_id(), "the RequestId is reported"
        return e
    raise AssertionError(f"expected {code}, but the call succeeded")
