"""Reliability under the production server: cross-talk, soak, worker death, slow clients.

``make test-reliability`` runs these (``.ci/run`` calls it). Every server binds 127.0.0.1
and is stopped by its fixture; every loop is bounded in count and time.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from service.web.documents import assessment_document
from tests.reliability.records import varied_records
from tests.servers import GATEWAY_HOST, ROOT, Service, gateway, gunicorn

pytestmark = pytest.mark.reliability


def post(port: int, record: dict, timeout: float = 10) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/v1/assessments", json.dumps(record), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def get_status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def without_id(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "assessment_id"}


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    with gunicorn(tmp_path_factory.mktemp("reliability"), LOG_LEVEL="WARNING") as running:
        yield running


def test_64_concurrent_clients_never_see_each_others_facts(service: Service, app, assessor, kb, english) -> None:
    records = varied_records(kb, 640)
    expected = [
        without_id(assessment_document(assessor.assess(assessor.record(r)), texts=english, explain=False))
        for r in records
    ]
    with ThreadPoolExecutor(max_workers=64) as pool:
        answers = list(pool.map(lambda r: post(service.port, r), records, timeout=300))
    assert [status for status, _ in answers] == [200] * len(records)
    mismatches = [i for i, (_, body) in enumerate(answers) if without_id(body) != expected[i]]
    assert not mismatches, f"{len(mismatches)} answers differ from the in-process answer, e.g. #{mismatches[0]}"


def test_a_killed_worker_is_replaced_and_few_requests_fail(service: Service, kb) -> None:
    records = varied_records(kb, 2000, seed=7)
    victim = service.worker_pids()[0]
    outcomes: list[int] = []
    lock = threading.Lock()

    def send(record: dict) -> None:
        try:
            status, _ = post(service.port, record, timeout=15)
        except (OSError, http.client.HTTPException, json.JSONDecodeError):
            status = 0
        with lock:
            outcomes.append(status)
            if len(outcomes) == 500:
                os.kill(victim, signal.SIGKILL)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, records, timeout=300))
    failed = sum(1 for status in outcomes if status != 200)
    assert len(outcomes) == len(records)
    assert failed / len(records) < 0.01, f"{failed} of {len(records)} failed"
    deadline = time.monotonic() + 30
    while (len(service.worker_pids()) < 2 or victim in service.worker_pids()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert victim not in service.worker_pids() and len(service.worker_pids()) == 2
    assert get_status(service.port, "/readyz") == 200


def test_soak_100000_assessments_keeps_worker_memory_flat(tmp_path: Path, kb) -> None:
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text("\n".join(json.dumps(r) for r in varied_records(kb, 500, seed=11)) + "\n")

    def load(port: int, seconds: int) -> int:
        """wrk for a fixed time; returns how many requests were answered, all with 2xx."""
        out = subprocess.run(
            [
                "wrk",
                "-t",
                "2",
                "-c",
                "16",
                "-d",
                f"{seconds}s",
                "-s",
                str(ROOT / "benchmarks/post.lua"),
                f"http://127.0.0.1:{port}",
            ],
            env={**os.environ, "BODIES": str(bodies)},
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
        assert "Non-2xx" not in out and "Socket errors" not in out, out
        return int(re.search(r"(\d+) requests in", out).group(1))

    with gunicorn(tmp_path, LOG_LEVEL="WARNING", MAX_REQUESTS="0") as running:
        load(running.port, 5)  # warm-up: engines built, allocator settled
        workers = running.worker_pids()
        before = {pid: Service.rss_kib(pid) for pid in workers}
        answered, deadline = 0, time.monotonic() + 300  # bounded: 100,000 or five minutes
        while answered < 100_000 and time.monotonic() < deadline:
            answered += load(running.port, 20)
        after = {pid: Service.rss_kib(pid) for pid in workers}
        assert running.worker_pids() == workers  # the same workers served it all
    assert answered >= 100_000
    growth_mib = max(after[pid] - before[pid] for pid in workers) / 1024
    summary = f"RSS before {before} KiB, after {after} KiB, max growth {growth_mib:.1f} MiB"
    print(f"\nsoak, {answered} assessments, 2 workers, no recycling: {summary}")
    assert growth_mib < 20  # about 7 MiB of warm-up is normal (README); this bound only catches real leaks


@pytest.fixture()
def gateway_port(tmp_path: Path) -> Iterator[int]:
    with (
        gunicorn(tmp_path, LOG_LEVEL="WARNING", TRUSTED_PROXIES="1") as running,
        gateway(tmp_path, running.port) as port,
    ):
        yield port


def tls_socket(port: int) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20))


def test_slow_clients_do_not_starve_workers_and_are_cut_off(gateway_port: int) -> None:
    slow = []
    for _ in range(40):  # more slow clients than gunicorn has workers
        conn = tls_socket(gateway_port)
        conn.sendall(
            b"POST /v1/assessments HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n" % GATEWAY_HOST.encode()
        )
        slow.append(conn)
    started = time.monotonic()
    try:
        record = {"patient": {"age": 40, "sex": "male"}, "complaint": {"locations": ["buttock"]}}
        conn = http.client.HTTPSConnection(
            "127.0.0.1", gateway_port, timeout=5, context=ssl._create_unverified_context()
        )
        conn.request(
            "POST", "/v1/assessments", json.dumps(record), {"Content-Type": "application/json", "Host": GATEWAY_HOST}
        )
        assert conn.getresponse().status == 200  # served while 40 clients dawdle
        assert time.monotonic() - started < 5
        slow[0].settimeout(20)
        data = slow[0].recv(1024)  # nginx gives up at client_header_timeout (10 s)
        assert data == b"" or b"408" in data
        assert time.monotonic() - started < 20
    finally:
        for conn in slow:
            conn.close()


def test_oversized_chunked_bodies_are_refused_at_the_gateway(gateway_port: int) -> None:
    conn = http.client.HTTPSConnection("127.0.0.1", gateway_port, timeout=10, context=ssl._create_unverified_context())
    chunks = (b"x" * 8192 for _ in range(16))  # 128 KiB, no Content-Length
    conn.request(
        "POST",
        "/v1/assessments",
        body=chunks,
        headers={"Content-Type": "application/json", "Host": GATEWAY_HOST},
        encode_chunked=True,
    )
    assert conn.getresponse().status == 413
