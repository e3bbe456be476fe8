"""RFC 9457 problem details for every error the service returns.

Error bodies never carry a stack trace or any part of the submitted record: validation
messages name the JSON path and the rule broken, and at most a shortened unknown id.
Unexpected exceptions — an engine failure included — are logged by type and traceback
only (no message: it could hold record values) and answered with a bare 500: a failed
engine must never become a smaller answer.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, Response, g, has_request_context, json
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from service.interop.cds_hooks.auth import AuthError
from service.interop.cds_hooks.replay import ReplayStoreUnavailableError
from service.interop.fhir.parsing import FhirInputError
from service.validation import InvalidInputError
from service.web.headers import allow

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str, errors: dict[str, list[str]] | None = None) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if has_request_context() and g.get("request_id"):
        body["request_id"] = g.request_id
    if errors is not None:
        body["errors"] = errors
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


def register_problem_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        # werkzeug's descriptions are generic; ours (raised in the views) never quote input
        response = problem(error.code or 500, error.name, error.description or error.name)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = allow(error.valid_methods)
        return response

    @app.errorhandler(InvalidInputError)
    def _invalid(error: InvalidInputError) -> Response:
        return problem(422, "Unprocessable Content", error.detail, errors=error.errors)

    @app.errorhandler(FhirInputError)
    def _bad_fhir(error: FhirInputError) -> Response:
        return problem(400, "Bad Request", str(error))

    @app.errorhandler(AuthError)
    def _unauthenticated(error: AuthError) -> Response:
        response = problem(401, "Unauthorized", str(error))
        response.headers["WWW-Authenticate"] = 'Bearer realm="cds-services"'
        return response

    @app.errorhandler(ReplayStoreUnavailableError)
    def _replay_unknown(error: ReplayStoreUnavailableError) -> Response:
        _log.error("replay store unavailable: %s", error)  # fails closed: no token is let through unchecked
        response = problem(503, "Service Unavailable", "The call cannot be checked for replay now; retry shortly.")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        _log.error(
            "unhandled %s\n%s",
            type(error).__name__,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        return problem(500, "Internal Server Error", "The server could not complete the request.")
