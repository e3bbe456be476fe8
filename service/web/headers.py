"""Reading a request header that is usually absent, without an exception for its absence;
writing the ``Allow`` header the same way in every process.

werkzeug's ``request.headers.get(name)`` raises and catches a ``BadRequestKeyError`` whenever
the header is missing, as ``X-Request-ID``, ``Origin`` and ``Accept-Language`` are on most
requests; that cost several microseconds of worker CPU a header. The WSGI environ holds the same
text (``HTTP_`` and the name in upper case, ``-`` as ``_``), which werkzeug returns unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import request


def header(name: str) -> str | None:
    """The value of the request header ``name`` (not Content-Type or Content-Length), or None."""
    return request.environ.get("HTTP_" + name.upper().replace("-", "_"))


def allow(methods: Iterable[str]) -> str:
    """An ``Allow`` header value in a fixed order: werkzeug gathers a route's methods in a set,
    whose order follows the process's hash seed, so two workers listed them differently."""
    return ", ".join(sorted(methods))
