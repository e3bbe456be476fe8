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
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_record

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.gateway


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited during start-up"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


def render_gateway(conf: str, *, port: int, upstream: int, tls: Path, run: Path) -> str:
    """The reference config with this test's ports, certificate and pid file; nothing else."""
    replacements = {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
        "/etc/nginx/tls/tls.crt": str(tls / "tls.crt"),
        "/etc/nginx/tls/tls.key": str(tls / "tls.key"),
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{upstream};",
        "pid /run/nginx.pid;": f"pid {run / 'nginx.pid'};",
    }
    for old, new in replacements.items():
        assert old in conf, f"nginx.conf no longer contains {old!r}"
        conf = conf.replace(old, new)
    return conf


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
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self._tls, timeout=10
        )
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def service_entries(self) -> list[dict]:
        time.sleep(0.2)  # let the worker flush its line
        lines = self.service_log.read_text().splitlines()
        return [
            json.loads(line)
            for line in lines
            if line.startswith("{") and '"service.requests"' in line
        ]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run installs it from Debian's packages")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    work = tmp_path_factory.mktemp("gateway")
    tls = work / "tls"
    tls.mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(tls / "tls.key"),
            "-out",
            str(tls / "tls.crt"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    service_port, gateway_port = free_port(), free_port()
    service_log = work / "service.log"
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(service_port),
        "WORKERS": "2",
        "TRUSTED_PROXIES": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
    }
    with service_log.open("w") as log:
        service = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config",
                str(ROOT / "deploy/gunicorn.conf.py"),
                "service.wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    conf = work / "nginx.conf"
    conf.write_text(
        render_gateway(
            (ROOT / "deploy/gateway/nginx.conf").read_text(),
            port=gateway_port,
            upstream=service_port,
            tls=tls,
            run=work,
        )
    )
    gateway_log = (work / "gateway.log").open("w")
    gateway = subprocess.Popen(
        [nginx, "-p", str(work), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
        stdout=gateway_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_port(service_port, service)
        wait_port(gateway_port, gateway)
        yield Stack(gateway_port, service_log)
    finally:
        for process in (gateway, service):
            process.terminate()
        for process in (gateway, service):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        gateway_log.close()


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
