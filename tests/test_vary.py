"""``vary_on`` writes the same ``Vary`` header as werkzeug's ``response.vary.add``."""

from __future__ import annotations

import pytest
from flask import Response

from service.web.vary import vary_on


@pytest.mark.parametrize(
    "current",
    [None, "Accept-Language", "accept-language", "Origin", "Accept-Language, Origin", "A,B", 'a, "b c"', "*", ""],
)
@pytest.mark.parametrize("header", ["Origin", "Accept-Language"])
def test_vary_on_matches_werkzeug(current: str | None, header: str) -> None:
    ours, werkzeugs = Response("x"), Response("x")
    if current is not None:
        ours.headers["Vary"] = werkzeugs.headers["Vary"] = current
    vary_on(ours, header)
    werkzeugs.vary.add(header)
    assert ours.headers.getlist("Vary") == werkzeugs.headers.getlist("Vary")
