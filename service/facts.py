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

from typing import Any

Fact = dict[str, Any]


def record_facts(record: dict[str, Any]) -> list[Fact]:
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
                key: complaint[key]
                for key in ("severity", "duration_days")
                if complaint.get(key) is not None
            },
        }
    ]
    facts += [{"t": "location", "id": location} for location in complaint["locations"]]
    facts += [{"t": "finding", "id": f, "status": "present"} for f in findings["present"]]
    facts += [{"t": "finding", "id": f, "status": "absent"} for f in findings["absent"]]
    return facts
