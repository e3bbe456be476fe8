"""CORS for browser-based CDS clients: only the origins in ``CORS_ORIGINS`` are answered.

A request (preflight included) from an allowed origin gets ``Access-Control-Allow-Origin``
naming that origin; from any other origin, no CORS header at all, so the browser refuses.
No credentials are allowed: CDS Hooks calls carry their JWT in ``Authorization``. Every
``OPTIONS`` answer, preflight or not, is a 204 without a body that lists its allowed methods
in a fixed order.
"""

from __future__ import annotations

from flask import Flask, Response, request

from service.web.headers import allow, header
from service.web.vary import vary_on

ALLOWED_HEADERS = "Authorization, Content-Type, Accept-Language, X-Request-ID"
PREFLIGHT_MAX_AGE = "600"


def install(app: Flask) -> None:
    allowed = frozenset(app.config["CORS_ORIGINS"])

    @app.after_request
    def _cors(response: Response) -> Response:
        if request.method == "OPTIONS" and response.allow:  # Flask's automatic answer: no content
            response.headers["Allow"] = allow(response.allow)
            response.status_code = 204
            response.set_data(b"")
            del response.headers["Content-Type"]
        origin = header("Origin")
        vary_on(response, "Origin")
        if origin is None or origin not in allowed:
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "X-Request-ID, Content-Language"
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response
