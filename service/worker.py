"""The gunicorn worker: one greenlet per connection, a deadline for the request head, and
gunicorn's own refusals as problem details.

Why not gunicorn's sync worker: it reads a request's head itself, so a client that trickles
its headers holds the whole worker — two such sockets stalled both workers of a pod and its
liveness probe failed. Here every connection is a greenlet: a slow client costs a socket and
a little memory, never the worker, and a connection that has not delivered its request head
within :data:`HEAD_DEADLINE` seconds is answered 408 and closed. The rule engine still runs
one assessment at a time per process, and each connection still carries one request, as
under the sync worker (README, "Serving").

gunicorn answers malformed requests (request line too long, too many headers, a bad
Content-Length, a method that is not a plain token) with HTML and logs the offending text
whole; here they are RFC 9457 problem details like every other error, and the log line
names the refusal and the exception's type, never what was sent (a request line carries the
query string, which could name a patient).

On SIGTERM the worker first accepts every connection already waiting in the listen queue,
then stops listening and answers what it holds: a request that had connected is answered,
not reset.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from functools import partial
from typing import Any

import gevent
from gevent.pool import Pool
from gevent.server import StreamServer
from gunicorn.http import errors as http_errors
from gunicorn.workers.ggevent import GeventWorker

from service.validation import shortened

HEAD_DEADLINE = 10.0  # seconds for a new connection to deliver a complete request head
BODY_DEADLINE = 10.0  # seconds from the head for the body to arrive (and the answer to leave)

PROBLEM_JSON = "application/problem+json"


class RequestHeadTimeoutError(Exception):
    """The client did not send a complete request head within :data:`HEAD_DEADLINE`."""


# (what gunicorn raised, status, title, detail); first match wins, details never quote input
_REFUSALS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int, str, str], ...] = (
    (RequestHeadTimeoutError, 408, "Request Timeout", "The request head did not arrive in time."),
    (http_errors.LimitRequestLine, 414, "URI Too Long", "The request line is too long."),
    (
        http_errors.LimitRequestHeaders,
        431,
        "Request Header Fields Too Large",
        "The request has too many header fields, or one that is too large.",
    ),
    (http_errors.InvalidRequestMethod, 501, "Not Implemented", "The request method is not one this service knows."),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented", "The transfer coding is not supported."),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden", "The proxy request is not allowed."),
    (
        (http_errors.ParseException, http_errors.InvalidChunkSize, http_errors.ChunkMissingTerminator),
        400,
        "Bad Request",
        "The request is not valid HTTP/1.1.",
    ),
)


def refusal(error: BaseException) -> tuple[int, str, str]:
    """Status, title and detail for an error raised while reading a request; 500 if unknown."""
    for kinds, status, title, detail in _REFUSALS:
        if isinstance(error, kinds):
            return status, title, detail
    return 500, "Internal Server Error", "The server could not complete the request."


def problem_response(status: int, title: str, detail: str) -> bytes:
    """A complete HTTP/1.1 answer carrying problem details; the connection is closed after it."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def linger(client: socket.socket, limit: int = 256 * 1024, seconds: float = 1.0) -> None:
    """Read and drop what the client is still sending before closing: closing a socket with
    unread input resets the connection, and the client would lose the answer just sent."""
    client.shutdown(socket.SHUT_WR)
    client.settimeout(seconds)
    deadline = time.monotonic() + seconds
    while limit > 0 and time.monotonic() < deadline:
        chunk = client.recv(65536)
        if not chunk:
            return
        limit -= len(chunk)


class Worker(GeventWorker):
    """``worker_class = "service.worker.Worker"`` (deploy/gunicorn.conf.py)."""

    _quitting = False

    def handle_quit(self, sig: int, frame: Any) -> None:
        """Quick shutdown (SIGINT, SIGQUIT), once. Ctrl-C in a terminal sends SIGINT to the
        workers as well as the master, which then sends them SIGQUIT: the second quit raised
        SystemExit in a greenlet while the first was already exiting, and gevent printed its
        traceback for every worker."""
        if not self._quitting:
            self._quitting = True
            super().handle_quit(sig, frame)

    def timeout_ctx(self) -> gevent.Timeout:
        # Called before reading a request head; with one request per connection (below) that
        # is once per connection, from its start.
        return gevent.Timeout(HEAD_DEADLINE, RequestHeadTimeoutError())

    def handle_request(self, listener_name: Any, req: Any, sock: socket.socket, addr: Any) -> Any:
        # One request per connection, as under the sync worker: a kept-alive connection would
        # stay with the worker that accepted it, and under load the busier worker's clients
        # wait while the other idles (measured at 64 connections: p99 1.4 s instead of 0.5 s).
        req.must_close = True
        sock.settimeout(HEAD_DEADLINE)  # a body or a reader that stalls this long fails the read
        # ... and one that trickles a byte now and then must still be done within BODY_DEADLINE:
        # the deadline raises TimeoutError at the read it interrupts, which the app answers as
        # a failed read of the body (400), like a stall. It can only fire while this greenlet
        # waits on the socket, never inside an assessment (no switch happens there).
        with gevent.Timeout(BODY_DEADLINE, TimeoutError("request body deadline")):
            return super().handle_request(listener_name, req, sock, addr)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        status, title, detail = refusal(exc)
        ip = addr[0] if addr else ""
        if status == 500:
            method = shortened(req.method) if getattr(req, "method", None) else "(none read)"
            self.log.exception("error handling a %s request from ip=%s: %s", method, ip, type(exc).__name__)
        else:  # the exception's text quotes the request line, query string included: never logged
            self.log.warning("refused a request from ip=%s: %d %s (%s)", ip, status, title, type(exc).__name__)
        try:
            client.sendall(problem_response(status, title, detail))
            linger(client)
        except OSError:
            self.log.debug("could not send the %d refusal", status)

    def run(self) -> None:
        servers: list[tuple[socket.socket, StreamServer]] = []
        for listener in self.sockets:
            listener.setblocking(1)
            server = StreamServer(listener, handle=partial(self.handle, listener), spawn=Pool(self.worker_connections))
            if self.cfg.workers > 1:
                server.max_accept = 1  # share new connections with the other workers
            server.start()
            servers.append((listener, server))

        while self.alive:
            self.notify()
            gevent.sleep(1.0)

        for listener, server in servers:
            self._accept_waiting(listener, server)
            server.close()
        pools = [server.pool for _, server in servers]
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while any(pool.free_count() != pool.size for pool in pools) and time.monotonic() < deadline:
            self.notify()
            gevent.sleep(0.1)
        for _, server in servers:
            if server.pool.free_count() != server.pool.size:
                self.log.warning("graceful timeout: %d connections cut", server.pool.size - server.pool.free_count())
            server.stop(timeout=1)
        # Every connection is answered; leave now. Interpreter finalisation under gevent only
        # prints "greenlet is being finalized" noise from logging's handler references.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    def _accept_waiting(self, listener: socket.socket, server: StreamServer) -> None:
        """Take every connection already queued on the listener, so closing it resets none."""
        name = ListenerName(listener.getsockname())  # the listener is closed before they start
        listener.setblocking(False)
        while True:
            try:
                client, addr = listener.accept()
            except OSError:  # BlockingIOError: the queue is empty
                return
            client.setblocking(True)
            server.pool.spawn(self.handle, name, client, addr)


class ListenerName:
    """All gunicorn's handler asks of a listener — its address — still known once it is closed."""

    def __init__(self, address: Any) -> None:
        self._address = address

    def getsockname(self) -> Any:
        return self._address
