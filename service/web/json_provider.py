"""JSON responses written by orjson, byte for byte what Flask's own provider writes.

``jsonify`` (every assessment, the knowledge base, health, the OpenAPI document) spent about
130 µs of an assessment's 10 KB answer in the standard library's encoder; orjson writes the
same bytes in about 45 µs (measured over 1,000 different assessments). Only the compact form
``jsonify`` uses outside debug mode takes this path; anything else (indentation, other
keyword arguments, sorted keys) goes to Flask's encoder unchanged, and so does any value
orjson refuses or might write differently:

- orjson writes UTF-8 and leaves DEL (0x7f) as it is; Flask escapes both (``ensure_ascii``),
  so a document holding either (every Chinese or Spanish answer, an English one with "°C")
  is written by Flask's encoder: escaping orjson's output afterwards measured 115 to 210 µs on
  an 18 KB assessment (the regex scan alone), against about 75 µs for the standard
  library's C encoder;
- orjson writes some floats below 1e-4 as ``0.00001`` or ``1e-7``, Python as ``1e-05`` and
  ``1e-07``: a document where orjson wrote either form is written by Flask's encoder instead
  (scores are rounded to 0.001, so an assessment never is);
- dates and dataclasses go through Flask's ``default`` as before (orjson's own forms differ).

A non-finite float, which no answer holds, would be written ``null`` instead of ``NaN``
(which is not JSON). tests/test_json_provider.py compares the two encoders.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

_COMPACT = {"separators": (",", ":")}  # what DefaultJSONProvider.response passes outside debug
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider, with compact responses written by orjson."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs != _COMPACT or self.sort_keys or not self.ensure_ascii:
            return super().dumps(obj, **kwargs)
        try:
            data = orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:  # e.g. an integer over 64 bits, a key that is not a string
            return super().dumps(obj, **kwargs)
        if not data.isascii() or b"\x7f" in data or not _floats_as_python_writes_them(data):
            return super().dumps(obj, **kwargs)
        return data.decode()


def _floats_as_python_writes_them(data: bytes) -> bool:
    """False if ``data`` may hold a float orjson wrote otherwise than Python (see above)."""
    if b"0.0000" in data:
        return False
    at = data.find(b"e-")
    while at != -1:  # a digit, "e-", one digit and no other: "1e-7", where Python writes "1e-07"
        if data[at - 1 : at].isdigit() and data[at + 2 : at + 3].isdigit() and not data[at + 3 : at + 4].isdigit():
            return False
        at = data.find(b"e-", at + 2)
    return True
