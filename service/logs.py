"""Process-wide logging: one JSON object per line on stdout, timestamps in UTC.

Log records never carry patient data: callers pass only ids, routes, statuses and
durations (see :mod:`service.web.observability`).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message and any ``extra`` fields.

    Every request writes a line, so the encoder is made once (``json.dumps`` with
    ``separators`` builds a new one per call) and the timestamp's seconds are formatted
    once per second.
    """

    _encoder = json.JSONEncoder(separators=(",", ":"))
    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": f"{self._seconds(record)}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        return self._encoder.encode(entry)

    def _seconds(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S"))
        return self._second[1]


def configure_logging(level: str) -> None:
    """JSON lines on stdout at ``level``, for this process and the workers forked from it.

    Records carry no thread: no line of ours (nor gunicorn's format) prints one, and under the
    gevent worker every connection is a new greenlet, for which ``threading.current_thread()``
    builds a dummy ``Thread`` on each record (about 40 µs of worker CPU per request log line,
    measured side by side). ``logging.logThreads`` is the standard library's switch for this
    (Logging HOWTO, "Optimization").
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.Formatter.converter = time.gmtime
    logging.logThreads = False
