"""JSON responses written by orjson, as UTF-8, the same values Flask's own provider writes.

``jsonify`` (every assessment, the knowledge base, health, the OpenAPI document) spent about
130 µs of an assessment's 8 KB answer in the standard library's encoder; orjson writes it in
under 10 µs, as the bytes the response sends (Flask's own path makes a text of them, adds the
newline and encodes it again). Only the compact answers ``jsonify`` writes outside debug mode
take this path; anything else (indentation, sorted keys) goes to Flask's provider unchanged,
and so does any value orjson refuses: an integer over 64 bits, a key that is not a string, a
string holding a lone surrogate (which UTF-8 cannot carry; Flask escapes it).

What differs from Flask's bytes, never the values a JSON parser reads:

- text outside ASCII is written as UTF-8 (RFC 8259's encoding for JSON) instead of
  ``\\u`` escapes. Escaping it again cost 115 to 240 µs an answer, and handing such answers to
  Flask's encoder cost 60 to 75 µs: every Chinese and Spanish answer, and two English answers in
  three (the fever question says "38 °C");
- a few floats are spelled otherwise (orjson ``1e-7`` or ``0.00001``, Python ``1e-07`` and
  ``1e-05``): the same numbers. Scores are rounded to 0.001, so answers hold none;
- a non-finite float would be written ``null`` where Flask writes ``NaN``, which is not
  JSON. No answer holds one.

Dates and dataclasses go through Flask's ``default`` as before. tests/test_json_provider.py
compares the two encoders.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_APPEND_NEWLINE


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider, with compact responses written by orjson."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self.sort_keys or self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)
        try:
            body = orjson.dumps(self._prepare_response_obj(args, kwargs), default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)  # type: ignore[arg-type]  # Flask's class: body first
