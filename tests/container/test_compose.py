"""compose.yaml brings up the service behind the gateway, and a request goes through both.

podman-compose (a PyPI package, installed with the test extras) runs compose.yaml as a user
would, with the service image the other container tests build (CDS_IMAGE) and the gateway
image built from deploy/gateway/Dockerfile on the same stand-in base, and a stand-in for the
official Redis image: Debian's redis-server on that base (REPLAY_STORE_IMAGE). The project name
is this test's own; ``down`` removes its containers, and both images are removed by name.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from tests.container.conftest import BASE, BIN, CONTAINERS_CONF, ROOT, podman
from tests.servers import GATEWAY_HOST, free_port

PROJECT = "buttock-pain-cds-compose-test"
GATEWAY_IMAGE = "localhost/buttock-pain-cds-gateway:compose"
REPLAY_STORE_IMAGE = "localhost/buttock-pain-cds-replay-store:compose-test"
# Debian's redis-server where the official image cannot be pulled; compose.yaml gives the command
REPLAY_STORE_CONTAINERFILE = f"""FROM {BASE}
RUN apt-get update && apt-get install -y --no-install-recommends redis-server && rm -rf /var/lib/apt/lists/*
"""
RECORD = {
    "patient": {"age": 30, "sex": "female", "pregnancy": {"gestational_week": 34}},
    "complaint": {"locations": ["buttock"]},
    "findings": {"present": ["saddle_anesthesia"], "absent": []},
}

pytestmark = pytest.mark.container


def compose(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "podman-compose"), "-p", PROJECT, "-f", str(ROOT / "compose.yaml"), *args],
        env=env,
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture()
def stack(image: str, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        "CONTAINERS_CONF": str(CONTAINERS_CONF),
        "CDS_IMAGE": image,
        "GATEWAY_BASE_IMAGE": BASE,
        "GATEWAY_PORT": str(port),
        "REPLAY_STORE_IMAGE": REPLAY_STORE_IMAGE,
    }
    (tmp_path / "Containerfile").write_text(REPLAY_STORE_CONTAINERFILE)
    try:
        podman("build", "--pull=never", "-t", REPLAY_STORE_IMAGE, str(tmp_path), timeout=900)
        up = compose(env, "up", "-d")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield port
    finally:
        compose(env, "down", "-t", "5", timeout=180)
        for built in (GATEWAY_IMAGE, REPLAY_STORE_IMAGE):
            subprocess.run(["podman", "rmi", "-f", built], env=env, capture_output=True, check=False, timeout=120)


def https(port: int, path: str, body: dict | None = None, seconds: float = 90) -> tuple[Message, dict]:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the gateway's self-signed certificate
    request = urllib.request.Request(
        f"https://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body else None,
        headers={"Content-Type": "application/json", "X-Request-ID": "compose-test-1", "Host": GATEWAY_HOST},
    )
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as response:
                return response.headers, json.load(response)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_compose_serves_the_service_through_the_gateway(stack: int) -> None:
    _, ready = https(stack, "/readyz")
    assert ready["status"] == "ready"
    headers, assessment = https(stack, "/v1/assessments", RECORD)
    assert assessment["urgency"]["level"] == "emergency"
    assert headers["X-Request-ID"] == "compose-test-1"  # set by the gateway, kept by the service


def test_compose_workers_share_the_replay_store(stack: int) -> None:
    """The service started (REQUIRE_REPLAY_STORE refuses a start without a store) and reaches
    the store at the REPLAY_STORE compose.yaml gives it, from inside its own container."""
    https(stack, "/readyz")
    cds = f"{PROJECT}_cds_1"
    ping = "import os, redis; print(redis.Redis.from_url(os.environ['REPLAY_STORE']).ping())"
    assert podman("exec", cds, "python", "-c", ping).stdout.strip() == "True"
    logs = podman("logs", cds).stdout
    assert "accepted once per worker" not in logs
