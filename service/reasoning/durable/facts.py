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

from service.reasoning.record import Record

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
    patient, complaint, findings = record["patient"], record["complaint"], record["findings"]
    pregnancy = patient.get("pregnancy")
    facts: list[Fact] = [
        {
            "t": "record",
            "age": patient["age"],
            "sex": patient["sex"],
            "pregnant": pregnancy is not None,
            **({"gestational_week": pregnancy["gestational_week"]} if pregnancy else {}),
            "side": complaint["side"],
            "onset": complaint["onset"],
            "course": complaint["course"],
            **{
                key: engine_number(complaint[key])
                for key in ("severity", "duration_days")
                if complaint.get(key) is not None
            },
        }
    ]
    facts += [{"t": "location", "id": location} for location in complaint["locations"]]
    facts += [{"t": "finding", "id": f, "status": "present"} for f in findings["present"]]
    facts += [{"t": "finding", "id": f, "status": "absent"} for f in findings["absent"]]
    return facts
