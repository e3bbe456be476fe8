"""The CDS Hooks 2.0 response shapes as JSON Schema, written from the specification
(cds-hooks.hl7.org/2.0, "CDS Service Response" and "Card Attributes"), to check every
response the services give — stricter where the issue asks (actions on every suggestion,
``overrideReasons`` on warning and critical cards) — and a check for empty values."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

_URL = {"type": "string", "pattern": r"^https?://[^\s]+$"}
_TEXT = {"type": "string", "minLength": 1}
_CODING = {
    "type": "object",
    "required": ["system", "code", "display"],
    "properties": {"system": _URL, "code": _TEXT, "display": _TEXT},
}
_ACTION = {
    "type": "object",
    "required": ["type", "description"],
    "properties": {
        "type": {"enum": ["create", "update", "delete"]},
        "description": _TEXT,
        "resource": {"type": "object", "required": ["resourceType"]},
        "resourceId": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": r"^[A-Za-z]+/[^/\s]+$"}},
    },
    "additionalProperties": False,
    "allOf": [
        {"if": {"properties": {"type": {"const": "delete"}}}, "then": {"required": ["resourceId"]}},
        {"if": {"properties": {"type": {"enum": ["create", "update"]}}}, "then": {"required": ["resource"]}},
    ],
}
_SUGGESTION = {
    "type": "object",
    "required": ["label", "uuid", "actions"],
    "properties": {
        "label": _TEXT,
        "uuid": {"type": "string", "format": "uuid"},
        "isRecommended": {"type": "boolean"},
        "actions": {"type": "array", "minItems": 1, "items": _ACTION},
    },
    "additionalProperties": False,
}
_LINK = {
    "type": "object",
    "required": ["label", "url", "type"],
    "properties": {
        "label": _TEXT,
        "url": _URL,
        "type": {"enum": ["absolute", "smart"]},
        "appContext": {"type": "string"},
    },
    "additionalProperties": False,
}
CARD = {
    "type": "object",
    "required": ["uuid", "summary", "indicator", "source"],
    "properties": {
        "uuid": {"type": "string", "format": "uuid"},
        "summary": {"type": "string", "minLength": 1, "maxLength": 140},
        "detail": _TEXT,
        "indicator": {"enum": ["info", "warning", "critical"]},
        "source": {
            "type": "object",
            "required": ["label"],
            "properties": {"label": _TEXT, "url": _URL, "icon": _URL, "topic": _CODING},
            "additionalProperties": False,
        },
        "suggestions": {"type": "array", "minItems": 1, "items": _SUGGESTION},
        "selectionBehavior": {"enum": ["at-most-one", "any"]},
        "overrideReasons": {"type": "array", "minItems": 1, "items": _CODING},
        "links": {"type": "array", "minItems": 1, "items": _LINK},
        "extension": {"type": "object", "minProperties": 1},
    },
    "additionalProperties": False,
    "allOf": [
        {"if": {"required": ["suggestions"]}, "then": {"required": ["selectionBehavior"]}},
        {
            "if": {"properties": {"indicator": {"enum": ["warning", "critical"]}}},
            "then": {"required": ["overrideReasons"]},
        },
    ],
}
RESPONSE = {
    "type": "object",
    "required": ["cards"],
    "properties": {
        "cards": {"type": "array", "items": CARD},
        "systemActions": {"type": "array", "minItems": 1, "items": _ACTION},
        "extension": {"type": "object", "minProperties": 1},
    },
    "additionalProperties": False,
}
_VALIDATOR = Draft202012Validator(RESPONSE, format_checker=Draft202012Validator.FORMAT_CHECKER)


def empty_values(value: Any, path: str = "$") -> list[str]:
    """Where a null, an empty list or an empty object sits (the top-level ``cards`` may be empty)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}"
            if item is None or (isinstance(item, list | dict) and not item and here != "$.cards"):
                found.append(here)
            found += empty_values(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += empty_values(item, f"{path}[{index}]")
    return found


def conformance_problems(response: Any) -> list[str]:
    """Everything in a CDS Hooks response that breaks the 2.0 shapes or carries an empty value."""
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _VALIDATOR.iter_errors(response)]
    return problems + [f"{p}: empty" for p in empty_values(response)]
