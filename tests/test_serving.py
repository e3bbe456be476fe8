"""The production server (deploy/gunicorn.conf.py, service/worker.py) on loopback.

Proves: gunicorn's own refusals are problem details and their log lines echo at most 64
characters; SIGTERM under load leaves no connected request unanswered; Ctrl-C stops it
without a traceback; each instance has its own metrics directory, removed when it stops; a
killed worker's live gauges go with it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.servers import Service, gunicorn

RECORD = json.dumps({"patient": {"age": 40, "sex": "male"}, "complaint": {"locations": ["buttock"]}}).encode()


def exchange(port: int, raw: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes; the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(raw)
        return read_all(connection)


def read_all(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def metric(port: int, name: str) -> float:
    answer = exchange(port, b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    text = parse(answer)[2].decode()
    return sum(float(v) for v in re.findall(rf"^{re.escape(name)} ([\d.e+]+)$", text, re.M))


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    with gunicorn(tmp_path_factory.mktemp("serving")) as running:
        yield running


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(120)) + b"\r\n", 431),
        (b"POST /v1/assessments HTTP/1.1\r\nHost: t\r\nContent-Length: 12abc\r\n\r\n{}", 400),
        (b"POST /v1/assessments HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400),
        (b"get /healthz HTTP/1.1\r\nHost: t\r\n\r\n", 501),
        (b"GET /healthz HTTP/9.9\r\nHost: t\r\n\r\n", 400),
        (b"POST /v1/assessments HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: bogus, chunked\r\n\r\n", 501),
    ],
    ids=[
        "long-request-line",
        "too-many-headers",
        "bad-content-length",
        "two-content-lengths",
        "lowercase-method",
        "bad-version",
        "unknown-coding",
    ],
)
def test_server_level_refusals_are_problem_details(service: Service, raw: bytes, status: int) -> None:
    answered, headers, body = parse(exchange(service.port, raw))
    assert answered == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"] == "about:blank" and problem["title"]
    assert "<html" not in body.decode()


def test_an_unknown_method_that_is_a_token_gets_405_problem_details(service: Service) -> None:
    status, headers, body = parse(
        exchange(service.port, b"FROB /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    )
    assert status == 405 and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 405


def test_refusal_log_lines_echo_nothing_that_was_sent(service: Service) -> None:
    """The refused request line may carry a query string naming a patient: none of it is logged."""
    marker = "Q" * 40_000
    before = len(service.log.read_text())  # the server is shared with the tests above
    exchange(service.port, f"GET /fhir?questionnaire={marker} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    exchange(service.port, f"GET / HTTP/1.1\r\nHost: t\r\nX-{marker[:9000]}: v\r\n\r\n".encode())
    exchange(service.port, f"{marker[:30]}lowercase /healthz HTTP/1.1\r\nHost: t\r\n\r\n".encode().lower())
    exchange(service.port, b"GET /v1/assessments?patient=Jane+Doe&dob=1980-01-01\r\n\r\n")  # no HTTP version
    for _ in range(50):  # bounded: the workers flush their lines within moments, slower under load
        log = service.log.read_text()[before:]
        if log.count("refused a request") == 4:
            break
        time.sleep(0.1)
    assert log.count("refused a request") == 4
    assert "QQ" not in log and "qq" not in log and "Jane" not in log and "1980" not in log


def test_sigterm_under_load_answers_every_connected_request(tmp_path: Path) -> None:
    head = (
        b"POST /v1/assessments HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(RECORD)
    )
    with gunicorn(tmp_path) as running:
        connections = [socket.create_connection(("127.0.0.1", running.port), timeout=30) for _ in range(64)]
        try:
            for connection in connections:  # 64 requests in flight: all but their last byte sent
                connection.sendall(head + RECORD[:-1])
            running.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            for connection in connections:
                connection.sendall(RECORD[-1:])
            with ThreadPoolExecutor(max_workers=64) as pool:
                answers = list(pool.map(read_all, connections, timeout=60))
        finally:
            for connection in connections:
                connection.close()
        assert running.process.wait(timeout=30) == 0
    statuses = [parse(answer)[0] if answer else 0 for answer in answers]
    assert statuses == [200] * 64


def test_ctrl_c_stops_the_server_without_a_traceback(tmp_path: Path) -> None:
    """A terminal's Ctrl-C signals the master and every worker; the master then sends the
    workers SIGQUIT too. Each worker used to print a SystemExit traceback for the second quit."""
    with gunicorn(tmp_path) as running:
        for pid in running.worker_pids():  # as they come in a terminal: at once, then the master's
            os.kill(pid, signal.SIGINT)
            os.kill(pid, signal.SIGQUIT)
        os.kill(running.process.pid, signal.SIGINT)
        assert running.process.wait(timeout=30) == 0
    log = running.log.read_text()
    assert log.count("Worker exiting") == 2
    assert "Traceback" not in log and "SystemExit" not in log


def test_two_instances_keep_their_own_metrics_and_remove_them_on_exit(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with gunicorn(tmp_path / "a", TMPDIR=str(tmp_path)) as first:
        for _ in range(5):
            exchange(first.port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        counted = metric(first.port, 'cds_http_requests_total{method="GET",route="/healthz",status="200"}')
        with gunicorn(tmp_path / "b", TMPDIR=str(tmp_path)) as second:
            assert len(list(tmp_path.glob("cds-metrics-*"))) == 2
            assert metric(second.port, 'cds_http_requests_total{method="GET",route="/healthz",status="200"}') == 0
            # the second start neither wiped nor joined the first's samples
            assert metric(first.port, 'cds_http_requests_total{method="GET",route="/healthz",status="200"}') == counted
        assert counted == 5
    assert not list(tmp_path.glob("cds-metrics-*"))


def test_a_killed_workers_live_gauges_are_removed_and_its_counts_kept(tmp_path: Path) -> None:
    with gunicorn(tmp_path, TMPDIR=str(tmp_path)) as running:
        for _ in range(20):
            exchange(running.port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        (metrics_dir,) = tmp_path.glob("cds-metrics-*")
        victim = running.worker_pids()[0]
        assert list(metrics_dir.glob(f"gauge_livesum_{victim}.db"))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (victim in running.worker_pids() or len(running.worker_pids()) < 2) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not list(metrics_dir.glob(f"gauge_live*_{victim}.db"))
        assert metric(running.port, 'cds_http_requests_total{method="GET",route="/healthz",status="200"}') == 20
        assert metric(running.port, "cds_http_requests_in_flight") == 1  # the /metrics request itself
