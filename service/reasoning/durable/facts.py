"""Turn a validated symptom record into the facts the rule engine matches.

Fact shapes (the compiler's patterns match exactly these):

- ``{"t": "record", "age", "sex", "pregnant", "gestational_week"?, "side", "onset",
  "course", "severity"?, "duration_days"?}`` — one per request;
- ``{"t": "location", "id"}`` — one per complaint location;
- ``{"t": "finding", "id", "status": "present" | "absent"}`` — one per answered finding.
  Unknown (unasked) findings are not asserted at all: unknown is never absent.

Rules add ``finding`` facts (derived, with ``"by"``) and ``{"t": "supported", "cause", "by"}``.
"""

from __future__ import annotations

import json
from typing import Any

from service import vocabulary as vocab
from service.reasoning.record import Record, record_context

Fact = dict[str, Any]

# durable_rules' C parser rejects numbers in exponent notation ("1e-05", "1e+16"), which is
# how Python writes floats below 1e-4 or from 1e16 up: the whole fact would be lost, and with
# it every context rule (pregnancy, severity...). Values are moved into the range Python
# writes plainly. Comparisons stay exact because the compiler only accepts thresholds of 0
# or within [ENGINE_MIN, ENGINE_MAX] (see service.reasoning.durable.compiler).
ENGINE_MIN = 1e-4
ENGINE_MAX = 1e15


def engine_number(value: float) -> float:
    """The same number for every threshold comparison, written without an exponent."""
    if 0 < value < ENGINE_MIN:
        return ENGINE_MIN
    return min(value, ENGINE_MAX)


def open_json(fact: Fact) -> str:
    """The fact as JSON without its closing brace, for the driver to append the session id."""
    return json.dumps(fact)[:-1]


def record_facts(record: Record) -> list[Fact]:
    context = {k: engine_number(v) if k in vocab.RANGE_FIELDS else v for k, v in record_context(record).items()}
    facts: list[Fact] = [{"t": "record", **context}]
    facts += [{"t": "location", "id": location} for location in record["complaint"]["locations"]]
    findings = record["findings"]
    facts += [{"t": "finding", "id": f, "status": "present"} for f in findings["present"]]
    facts += [{"t": "finding", "id": f, "status": "absent"} for f in findings["absent"]]
    return facts
