"""One way to validate input against a marshmallow schema, and one error for when it fails.

Every door (the REST API, CDS Hooks, FHIR intake) validates through :func:`validated`; the
web layer turns :class:`InvalidInputError` into the contract's 422 in one handler. Messages
name the JSON path and the rule broken, never the submitted values, and at most
:data:`MAX_REPORTED_ERRORS` of them: an answer is never much bigger than a fixed size,
however many mistakes the input holds.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from marshmallow import Schema, ValidationError, validate

MAX_ID_ECHO = 64  # longest submitted key or id an error message will repeat back
MAX_REPORTED_ERRORS = 20  # JSON paths one error answer lists; the detail says how many there were


class InvalidInputError(Exception):
    """Input that breaks its contract: ``errors`` maps JSON paths to messages."""

    def __init__(self, detail: str, errors: dict[str, list[str]]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


def validated(schema: Schema, data: Any, detail: str) -> Any:
    """``schema.load(data)``, or :class:`InvalidInputError` saying ``detail`` with every error found."""
    try:
        return schema.load(data)
    except ValidationError as error:
        errors = json_paths(error.messages)
        if len(errors) > MAX_REPORTED_ERRORS:
            detail = f"{detail} The first {MAX_REPORTED_ERRORS} of {len(errors)} problems are listed."
            errors = dict(islice(errors.items(), MAX_REPORTED_ERRORS))
        raise InvalidInputError(detail, errors) from None


class WholeMatch(validate.Regexp):
    """``validate.Regexp`` over the whole value: ``re.match`` lets ``$`` match before a final
    newline, so "<uuid>\\n" passed. The pattern itself stays as written, ``^...$``, because it is
    also the OpenAPI document's ``pattern`` (ECMA-262, which has no ``\\Z``)."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def shortened(text: str) -> str:
    return text if len(text) <= MAX_ID_ECHO else text[:MAX_ID_ECHO] + "…"


def json_paths(messages: Any, path: str = "$") -> dict[str, list[str]]:
    """Flatten marshmallow's nested error messages into ``{"$.a.b[2]": [...]}``.

    Sorted (an object's own errors first, then list items by index, then members by name):
    marshmallow reports unknown members in the order of a set, which differs between
    processes, so two workers could list (and cut at :data:`MAX_REPORTED_ERRORS`) the same
    record's errors differently.
    """
    if isinstance(messages, list):
        return {path: [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in sorted(messages.items(), key=_error_order):
        if key == "_schema":
            child = path
        elif isinstance(key, int):
            child = f"{path}[{key}]"
        else:
            child = f"{path}.{shortened(str(key))}"
        for sub_path, sub_messages in json_paths(value, child).items():
            flat.setdefault(sub_path, []).extend(sub_messages)
    return flat


def _error_order(item: tuple[Any, Any]) -> tuple[int, int, str]:
    key = item[0]
    if key == "_schema":
        return (0, 0, "")
    return (1, key, "") if isinstance(key, int) else (2, 0, str(key))
