"""schemathesis hooks for this API, loaded by the tests and by ``st run`` (schemathesis.toml).

One rule of the record cannot be stated in JSON Schema for a generator: a finding may be in
only one of ``present``, ``absent`` and ``not_known`` (it would take one ``not`` per finding). Without this hook a
generator builds schema-valid records that the service rightly refuses with 422, and
schemathesis reports "schema-valid request rejected". The 422 itself is pinned in test_api.py.
So is a field in ``complaint.not_known`` that the complaint gives (pinned in
test_record_fields.py).
Likewise a feedback ``outcomeTimestamp`` must be a date that exists (the pattern lets
2026-02-30 through); that 422 is pinned in test_cds_conformance.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import schemathesis


def _without_overlap(body: Any) -> Any:
    """The body with every finding that is also ``present`` dropped from ``absent``, and every
    finding answered either way dropped from ``not_known``."""
    findings = body.get("findings") if isinstance(body, dict) else None
    if not isinstance(findings, dict):
        return body
    answered: list[Any] = []
    for key in ("present", "absent", "not_known"):
        if isinstance(findings.get(key), list):
            findings[key] = [f for f in findings[key] if f not in answered]
            answered += findings[key]
    return body


def _not_known_only_when_unknown(body: Any) -> Any:
    """The body with every field of ``complaint.not_known`` the complaint gives a value dropped
    from it (the onset cannot be both sudden and not known)."""
    complaint = body.get("complaint") if isinstance(body, dict) else None
    if isinstance(complaint, dict) and isinstance(complaint.get("not_known"), list):
        complaint["not_known"] = [
            name
            for name in complaint["not_known"]
            if not isinstance(name, str) or complaint.get(name, "unknown") in (None, "unknown")
        ]
    return body


def _dates_that_exist(body: Any) -> Any:
    """The body with every feedback ``outcomeTimestamp`` on a day that does not exist moved to one that does."""
    items = body.get("feedback") if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else ():
        stamp = item.get("outcomeTimestamp") if isinstance(item, dict) else None
        if isinstance(stamp, str) and len(stamp) >= 10:
            try:
                dt.date.fromisoformat(stamp[:10])
            except ValueError:
                item["outcomeTimestamp"] = stamp[:8] + "01" + stamp[10:]
    return body


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    """Generated bodies (the fuzzing phases)."""
    return _dates_that_exist(_not_known_only_when_unknown(_without_overlap(body)))


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Whole cases (the coverage phase, which builds bodies from the examples, calls only this)."""
    case.body = _dates_that_exist(_not_known_only_when_unknown(_without_overlap(case.body)))
    return case
