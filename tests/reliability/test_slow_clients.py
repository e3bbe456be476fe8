"""Slow clients straight at the pod (a Kubernetes Service can bypass the gateway).

50 sockets trickle a header line a second for 15 s: health probes and assessments are still
answered within a second, and every slow socket is cut with a 408 problem after about 10 s
(service/worker.py). Loopback only; every loop is bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Service, gunicorn

pytestmark = pytest.mark.reliability

SLOW_SOCKETS = 50
RECORD = {"patient": {"age": 40, "sex": "male"}, "complaint": {"locations": ["buttock"]}}


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[Service]:
    with gunicorn(tmp_path, LOG_LEVEL="WARNING") as running:
        yield running


def answer_within_a_second(port: int, method: str, path: str, body: str | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def trickle(sockets: list[socket.socket], cut: dict[int, tuple[float, bytes]], started: float) -> None:
    """One header line per socket per second for 15 s; note when and how each was cut."""
    for second in range(15):
        for i, sock in enumerate(sockets):
            if i in cut:
                continue
            try:  # read first: writing to a socket the server closed could lose its answer
                sock.setblocking(False)
                cut[i] = (time.monotonic() - started, sock.recv(4096))
            except BlockingIOError:
                sock.setblocking(True)
                with contextlib.suppress(OSError):  # closed meanwhile: the next read says how
                    sock.sendall(b"X-Slow-%d: 1\r\n" % second)
            except OSError:
                cut[i] = (time.monotonic() - started, b"")
        time.sleep(1)


def test_slow_sockets_starve_nothing_and_are_cut_with_408(service: Service) -> None:
    sockets = [socket.create_connection(("127.0.0.1", service.port), timeout=5) for _ in range(SLOW_SOCKETS)]
    started = time.monotonic()
    cut: dict[int, tuple[float, bytes]] = {}
    try:
        for sock in sockets:
            sock.sendall(b"POST /v1/assessments HTTP/1.1\r\nHost: t\r\n")
        slow = threading.Thread(target=trickle, args=(sockets, cut, started))
        slow.start()
        statuses = []
        for _ in range(8):  # while every slow socket is open
            statuses.append(answer_within_a_second(service.port, "GET", "/healthz"))
            statuses.append(answer_within_a_second(service.port, "POST", "/v1/assessments", json.dumps(RECORD)))
            time.sleep(1)
        slow.join(timeout=30)
    finally:
        for sock in sockets:
            sock.close()
    assert statuses == [200] * 16
    assert len(cut) == SLOW_SOCKETS
    for when, answer in cut.values():
        assert 9 <= when <= 13
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"application/problem+json" in answer


def test_a_body_that_trickles_is_cut_at_the_body_deadline(service: Service) -> None:
    """A byte every two seconds beats the 10 s stall of a single read, not the body deadline."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/assessments HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        started, answer = time.monotonic(), b""
        for _ in range(15):  # bounded: 30 s at most
            with contextlib.suppress(OSError):
                sock.sendall(b" ")
            sock.settimeout(2)
            try:
                answer = sock.recv(4096)
                break
            except TimeoutError:
                continue
        waited = time.monotonic() - started
    assert 9 <= waited <= 13
    assert answer.startswith(b"HTTP/1.1 4") and b"application/problem+json" in answer


def test_a_body_that_stalls_is_answered_and_closed_after_the_deadline(service: Service) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/assessments HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"pat'
        )
        started = time.monotonic()
        answer = sock.recv(4096)
        waited = time.monotonic() - started
    assert 9 <= waited <= 13
    assert answer.startswith(b"HTTP/1.1 4") and b"application/problem+json" in answer
