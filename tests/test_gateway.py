"""The reference gateway (deploy/gateway/nginx.conf) in front of gunicorn, both on loopback.

Proves: the request id round-trips to the response and the service log; the gateway
answers 413 for a large body, and 429 when the rate is exceeded or one client holds more than
50 connections (their partial bodies never reach the service); the client address in the
service log comes from X-Forwarded-For only through the trusted hop; /metrics is not public;
API answers carry no-store, nosniff and HSTS (the 429 page too); an unknown Host gets 421;
only the Mozilla "intermediate" ciphers are offered. nginx comes from
Debian's packages (.ci/run installs it); both processes are stopped by the test.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_record
from tests.servers import GATEWAY_HOST, gateway, gunicorn, nginx_binary

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
            connection.request(method, path, body=body, headers={"Host": GATEWAY_HOST, **(headers or {})})
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


SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000",
}


def test_api_answers_carry_no_store_nosniff_and_hsts(stack: Stack) -> None:
    for status, headers, _ in (post(stack, make_record()), stack.request("GET", "/no/such/path")):
        assert status in (200, 404)
        assert {k: headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS


def test_metrics_are_not_public(stack: Stack) -> None:
    status, headers, body = stack.request("GET", "/metrics")
    assert status == 404 and headers["Content-Type"].startswith("application/problem+json")
    assert b"cds_http_requests_total" not in body


def test_an_unknown_host_is_refused_with_421(stack: Stack) -> None:
    for host in ("evil.example", "127.0.0.1"):
        status, headers, body = stack.request("GET", "/healthz", headers={"Host": host, "X-Request-ID": "host-1"})
        assert status == 421 and json.loads(body)["status"] == 421
        assert headers["Strict-Transport-Security"] == SECURITY_HEADERS["Strict-Transport-Security"]
    assert not any(e["request_id"] == "host-1" for e in stack.service_entries())  # never reached it


def test_only_intermediate_ciphers_are_offered(stack: Stack) -> None:
    def handshake(cipher: str) -> bool:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(cipher)
        try:
            with socket.create_connection(("127.0.0.1", stack.port), timeout=5) as raw:
                context.wrap_socket(raw, server_hostname=GATEWAY_HOST).close()
            return True
        except ssl.SSLError:
            return False

    assert handshake("ECDHE-RSA-AES128-GCM-SHA256")
    assert not handshake("ECDHE-RSA-AES128-SHA")  # CBC with SHA-1: not in the list
    assert not handshake("AES128-GCM-SHA256")  # no forward secrecy


def test_the_gateway_caps_the_connections_of_one_client_and_buffers_their_bodies(stack: Stack) -> None:
    """60 sockets, opened more slowly than the rate limit allows, each send a request head and
    only part of its body: nginx holds them (the service sees none of them), and answers the
    ones past 50 with 429 at once."""
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    head = (
        f"POST /v1/assessments HTTP/1.1\r\nHost: {GATEWAY_HOST}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{"
    ).encode()
    before = len(stack.service_entries())
    sockets = []
    try:
        for _ in range(60):  # bounded; slower than the rate limit, so that only the cap refuses
            sock = tls.wrap_socket(socket.create_connection(("127.0.0.1", stack.port), timeout=5))
            sock.sendall(head)
            sockets.append(sock)
            time.sleep(0.08)
        time.sleep(0.5)
        refused = 0
        for sock in sockets:
            sock.settimeout(0.2)
            try:
                refused += sock.recv(64).startswith(b"HTTP/1.1 429")
            except (TimeoutError, ssl.SSLError):
                continue  # held, waiting for its body
    finally:
        for sock in sockets:
            sock.close()
    assert refused == 10
    assert len(stack.service_entries()) == before  # no partial body reached the service


# Last: it leaves this client's rate limit exhausted for a moment.
def test_the_gateway_limits_the_rate_with_429_and_keeps_the_security_headers(stack: Stack) -> None:
    answers = [stack.request("GET", "/healthz") for _ in range(120)]  # bounded loop
    statuses = [status for status, _, _ in answers]
    assert 429 in statuses
    assert statuses[0] == 200
    limited = next(headers for status, headers, _ in answers if status == 429)
    assert {k: limited.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS
