"""``Vary`` for the answers that depend on a request header (language, CORS origin)."""

from __future__ import annotations

import re

from flask import Response

_NAMES = re.compile(r"[A-Za-z0-9-]+(?:, [A-Za-z0-9-]+)*")  # how werkzeug writes a list of header names


def vary_on(response: Response, header: str) -> None:
    """Add the header name ``header`` to ``response``'s ``Vary``, as ``response.vary.add`` would.

    werkzeug parses the whole ``Vary`` header into a set and writes it back on every add, twice
    per assessment; when the header is absent or a plain list of names (all this service
    writes), the name is appended to the text instead, with the same result.
    """
    values = response.headers.getlist("Vary")  # .get raises and catches an exception when there is none
    current = values[0] if values else None
    if current is None:
        response.headers["Vary"] = header
    elif not _NAMES.fullmatch(current):
        response.vary.add(header)
    elif header.lower() not in current.lower().split(", "):
        response.headers["Vary"] = f"{current}, {header}"
