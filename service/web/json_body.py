"""Reading a JSON request body, with the contract's errors for each way it can go wrong."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType


def read_json_body() -> Any:
    """The parsed body: 415 if not JSON, 400 if malformed; the size limit (413) is Flask's."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise BadRequest("The request body is not valid JSON.") from None
