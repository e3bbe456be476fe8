"""Reading a JSON request body, with the contract's errors for each way it can go wrong.

Refusals are cheap and say what is wrong: a compressed body is 415 (it is never decompressed,
so it could only be misread as malformed JSON); a body over ``MAX_BODY_BYTES`` is 413 whether or
not it declared its length (a chunked body is counted as it is read); a key given twice in
one object is 400 naming the key, because "the last one wins" could hide a red flag behind
a second ``findings``; nesting deeper than any contract needs is 400 before anything walks it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from service.validation import shortened

MAX_JSON_DEPTH = 64  # arrays and objects inside one another; FHIR prefetch needs far fewer
_CHUNK = 16 * 1024


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def read_json_body() -> Any:
    """The parsed body: 415 if not JSON, 413 if too big, 400 if malformed, repetitive or too deep."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    if request.content_encoding not in (None, "", "identity"):  # never decoded: refused, not misread
        raise UnsupportedMediaType("Send the body without a Content-Encoding: it is not decompressed.")
    body = _body()
    try:
        document = json.loads(body, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError as error:
        raise BadRequest(f"The request body gives the key '{shortened(error.key)}' more than once.") from None
    except (json.JSONDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise BadRequest("The request body is not valid JSON.") from None
    except ValueError:  # valid JSON: an integer longer than Python converts (sys.get_int_max_str_digits)
        raise BadRequest(f"A number in the request body has more than {sys.get_int_max_str_digits()} digits.") from None
    if _may_nest_too_deep(body) and _depth(document) > MAX_JSON_DEPTH:
        raise BadRequest(f"The request body nests arrays and objects more than {MAX_JSON_DEPTH} deep.")
    return document


def _body() -> bytes:
    """At most ``MAX_CONTENT_LENGTH`` bytes, read in chunks; one byte more is 413."""
    limit = request.max_content_length
    body = bytearray()
    while chunk := request.stream.read(_CHUNK):
        body += chunk
        if limit is not None and len(body) > limit:
            raise RequestEntityTooLarge()
    return bytes(body)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return document


def _may_nest_too_deep(body: bytes) -> bool:
    """Whether the body has more opening brackets than :data:`MAX_JSON_DEPTH`: each level of
    nesting opens one, so a body with fewer (every record) needs no walk of its document."""
    return body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH


def _depth(document: Any) -> int:
    """How deep arrays and objects nest, found without recursion."""
    deepest = 0
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest
