"""Process-wide logging: one JSON object per line on stdout, timestamps in UTC.

Log records never carry patient data: callers pass only ids, routes, statuses and
durations (see :mod:`service.web.observability`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

REQUESTS = "service.requests"  # the logger of the one line each request writes


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message and any ``extra`` fields.

    Every request writes a line, so the encoder is made once (``json.dumps`` with
    ``separators`` builds a new one per call) and the timestamp's seconds are formatted
    once per second.
    """

    _encoder = json.JSONEncoder(separators=(",", ":"))
    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        return self.line(
            record.created,
            int(record.msecs),
            level=record.levelname,
            logger=record.name,
            message=record.getMessage(),
            fields=getattr(record, "fields", {}),
        )

    def line(self, created: float, msecs: int, *, level: str, logger: str, message: str, fields: dict[str, Any]) -> str:
        entry: dict[str, Any] = {
            "ts": f"{self._seconds(created)}.{msecs:03d}Z",
            "level": level,
            "logger": logger,
            "message": message,
        }
        entry.update(fields)
        return self._encoder.encode(entry)

    def _seconds(self, created: float) -> str:
        second = int(created)
        if self._second[0] != second:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(created)))
        return self._second[1]


class RequestLog:
    """Request lines written straight to a handler's stream, each the line
    :class:`JsonFormatter` writes for a ``service.requests`` record at INFO, flushed before the
    response leaves.

    Through ``logging`` a line cost about 25 µs more of worker CPU (a ``LogRecord`` with
    everything it looks up, the logger hierarchy, the handler's lock); the request log has
    one fixed shape and one destination. One ``write`` per line, as the handler does, so
    lines never interleave.
    """

    def __init__(self, handler: logging.StreamHandler[TextIO], formatter: JsonFormatter) -> None:
        self.handler = handler
        self._formatter = formatter

    def write(self, fields: dict[str, Any]) -> None:
        created = time.time()
        msecs = int((created - int(created)) * 1000)  # as LogRecord reckons them
        line = self._formatter.line(created, msecs, level="INFO", logger=REQUESTS, message="request", fields=fields)
        self.handler.stream.write(line + "\n")
        self.handler.stream.flush()


_request_log: RequestLog | None = None  # set by configure_logging


def log_request(fields: dict[str, Any]) -> None:
    """Write one request's line: straight to the stream of the handler :func:`configure_logging`
    installed while it is the only one, else (tests' log capture, ``flask run``, any handler
    added later) as a ``service.requests`` record, so every handler still gets it."""
    handlers = logging.root.handlers
    if _request_log is not None and len(handlers) == 1 and handlers[0] is _request_log.handler:
        _request_log.write(fields)
    else:
        logging.getLogger(REQUESTS).info("request", extra={"fields": fields})


def configure_logging(level: str) -> None:
    """JSON lines on stdout at ``level``, for this process and the workers forked from it.

    Records carry no thread: no line of ours (nor gunicorn's format) prints one, and under the
    gevent worker every connection is a new greenlet, for which ``threading.current_thread()``
    builds a dummy ``Thread`` on each record (about 40 µs of worker CPU when each request's line
    was a record, measured side by side). ``logging.logThreads`` is the standard library's
    switch for this (Logging HOWTO, "Optimization"). Request lines then go to the same stream
    through :class:`RequestLog`.
    """
    global _request_log  # noqa: PLW0603 (the process's logging is process-wide)
    formatter = JsonFormatter()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.Formatter.converter = time.gmtime
    logging.logThreads = False
    _request_log = RequestLog(handler, formatter)
