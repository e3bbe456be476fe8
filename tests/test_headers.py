"""``header`` reads what werkzeug's ``request.headers.get`` reads."""

from __future__ import annotations

import pytest
from flask import Flask, request

from service.web.headers import header


@pytest.mark.parametrize("name", ["X-Request-ID", "x-request-id", "Origin", "Accept-Language", "X-Absent"])
def test_header_reads_what_werkzeug_reads(name: str) -> None:
    sent = {"X-Request-ID": "gw-1", "Origin": "https://a.example.org", "Accept-Language": "zh-CN, es;q=0.5 "}
    with Flask(__name__).test_request_context(headers=sent):
        assert header(name) == request.headers.get(name)
