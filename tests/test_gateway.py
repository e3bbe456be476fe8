"""The reference gateway (deploy/gateway/nginx.conf) in front of gunicorn, both on loopback.

Proves: the request id round-trips to the response and the service log; the gateway
answers 413 for a large body and 429 when the rate is exceeded; the client address in the
service log comes from X-Forwarded-For only through the trusted hop. nginx comes from
Debian's packages (.ci/run installs it); both processes are stopped by the test.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_record
from tests.servers import gateway, gunicorn, nginx_binary

pytestmark = pytest.mark.gateway


class Stack:
    def __init__(self, gateway_port: int, service_log: Path) -> None:
        self.port = gateway_port
        self.service_log = service_log
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self._tls, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def service_entries(self) -> list[dict]:
        time.sleep(0.2)  # let the worker flush its line
        lines = self.service_log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{") and '"service.requests"' in line]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    if nginx_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run installs it from Debian's packages")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    work = tmp_path_factory.mktemp("gateway")
    with gunicorn(work, TRUSTED_PROXIES="1") as service, gateway(work, service.port) as port:
        yield Stack(port, service.log)


def post(stack: Stack, record: dict, headers: dict[str, str] | None = None):
    return stack.request(
        "POST",
        "/v1/assessments",
        json.dumps(record).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


def test_a_request_id_round_trips_to_the_response_and_the_service_log(stack: Stack) -> None:
    status, headers, _ = post(stack, make_record(), {"X-Request-ID": "ehr-abc-123"})
    assert status == 200 and headers["X-Request-ID"] == "ehr-abc-123"
    assert any(e["request_id"] == "ehr-abc-123" for e in stack.service_entries())


def test_a_request_id_is_minted_when_missing_or_invalid(stack: Stack) -> None:
    status, headers, _ = post(stack, make_record(), {"X-Request-ID": "not valid!"})
    minted = headers["X-Request-ID"]
    assert status == 200 and minted != "not valid!" and len(minted) == 32
    assert any(e["request_id"] == minted for e in stack.service_entries())


def test_the_client_address_comes_only_from_the_trusted_hop(stack: Stack) -> None:
    post(stack, make_record(), {"X-Forwarded-For": "203.0.113.66", "X-Request-ID": "spoof-1"})
    entry = next(e for e in stack.service_entries() if e["request_id"] == "spoof-1")
    assert entry["client"] == "127.0.0.1"  # the gateway's view of the caller, not the planted one


def test_the_gateway_refuses_a_large_body_with_413(stack: Stack) -> None:
    record = make_record()
    record["padding"] = "x" * (80 * 1024)
    status, headers, body = post(stack, record, {"X-Request-ID": "big-1"})
    assert status == 413
    assert headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(body)["request_id"] == "big-1"
    assert not any(e["request_id"] == "big-1" for e in stack.service_entries())  # never reached it


def test_the_gateway_limits_the_rate_with_429(stack: Stack) -> None:
    statuses = [stack.request("GET", "/healthz")[0] for _ in range(120)]  # bounded loop
    assert 429 in statuses
    assert statuses[0] == 200
