"""Request ids, one JSON log line per request, and the HTTP metrics.

A log line carries the request id, method (cut to 64 characters), route template (never
the path a client sent, which could name a patient, nor the query string), status,
duration, client address and, for assessments, the urgency level — never the body, the
findings, the age or anything else from the record.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

from service import metrics
from service.logs import REQUESTS, log_request
from service.validation import shortened
from service.web.headers import header

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # what a gateway may pass on
_log = logging.getLogger(REQUESTS)


def request_id() -> str:
    return str(g.get("request_id", ""))


def note_urgency(level: str) -> None:
    """Put the urgency of this request's assessment in its log line and the metrics."""
    g.urgency = level
    metrics.labelled(metrics.ASSESSMENTS, level).inc()


def install(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        offered = header(REQUEST_ID_HEADER) or ""
        g.request_id = offered if _VALID_REQUEST_ID.match(offered) else secrets.token_hex(16)  # 128 random bits
        g.started = time.perf_counter()
        metrics.IN_FLIGHT.inc()
        g.in_flight = True

    @app.teardown_request
    def _done(_error: BaseException | None) -> None:
        if g.pop("in_flight", False):
            metrics.IN_FLIGHT.dec()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = request_id()
        route = request.url_rule.rule if request.url_rule else metrics.OTHER  # templates: a fixed set
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        status = str(response.status_code)
        metrics.labelled(metrics.REQUESTS, route, metrics.method_label(request.method), status).inc()
        metrics.labelled(metrics.LATENCY, route).observe(elapsed)
        if _log.isEnabledFor(logging.INFO):
            fields = {
                "request_id": request_id(),
                "method": shortened(request.method),
                "route": route,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 3),
                "client": request.remote_addr,
            }
            if "urgency" in g:
                fields["urgency"] = g.urgency
            log_request(fields)
        return response
