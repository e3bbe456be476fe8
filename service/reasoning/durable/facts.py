"""Turn a validated symptom record into the facts the rule engine matches, as the C engine reads them.

Fact shapes (the compiler's patterns match exactly these):

- ``{"t": "record", "age", "sex", "pregnant", "gestational_week"?, "side", "onset",
  "course", "severity"?, "duration_days"?}`` — one per request;
- ``{"t": "location", "id", "location:<id>": true}`` — one per complaint location;
- ``{"t": "finding", "id", "status": "present" | "absent", "finding:<id>": status}`` — one per
  answered finding. Unknown (unasked) findings are not asserted at all: unknown is never absent.

Rules add ``finding`` facts (derived, with ``"by"``) and
``{"t": "supported", "cause", "by", "cause:<cause>": true}``.

Patterns match a location, finding or cause by its :func:`identity` property, never by
comparing ``id`` or ``cause`` with each value: see there why.

Facts reach the C engine as JSON text without the closing brace: the driver appends the
session id. A location or finding fact is spelled the same in every request, so
:class:`RecordFacts` writes each once per knowledge base; only the record fact is written
per request (measured: writing a record's facts went from about 18 to 9 µs), and that one
from pieces written once too: the JSON of each choice and of each key, joined with the
numbers, the same text ``json.dumps`` writes of
:func:`~service.reasoning.record.record_context` (a test compares).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from service import vocabulary as vocab
from service.reasoning.record import Record, record_context

Fact = dict[str, Any]
FactKey = tuple[str, str, str]  # (type, id or cause, status): what a pattern can match

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


def identity(kind: str, name: str) -> str:
    """The property whose name says which location, finding or cause a fact is about.

    durable_rules finds the children of an alpha node by the *name* of the property they test
    and then tries each child with that name, one comparison each. Were the id a value, every
    finding fact would be compared with each of the hundred-odd findings rules watch; as a
    property name, the lookup reaches the one child that tests it. The engine took a third less
    time per record (110 -> 69 µs in an engine-only loop over 4,000 varied records) and fires
    the same rules in the same order.
    """
    return f"{kind}:{name}"


def fact_key(fact: Fact) -> FactKey:
    return (fact["t"], fact.get("id") or fact.get("cause") or "", fact.get("status", ""))


def open_json(fact: Fact) -> str:
    """The fact as JSON without its closing brace, for the driver to append the session id."""
    return json.dumps(fact)[:-1]


def finding_fact(finding_id: str, status: str) -> Fact:
    return {"t": "finding", "id": finding_id, "status": status, identity("finding", finding_id): status}


def supported_fact(cause: str, by: str) -> Fact:
    """That rule ``by`` supports ``cause`` (no ``id``: see the compiler for why ``by`` is in it)."""
    return {"t": "supported", "cause": cause, "by": by, identity("cause", cause): True}


def _fixed_fact(key: FactKey) -> Fact:
    kind, id_, status = key
    return finding_fact(id_, status) if kind == "finding" else {"t": kind, "id": id_, identity(kind, id_): True}


class RecordFacts:
    """A record's facts that some pattern watches, as :func:`open_json` writes them.

    A fact no pattern could match is never written (about a third of a record's input facts,
    each a C call that could only answer "not handled").
    """

    def __init__(self, watched: Iterable[FactKey]) -> None:
        watched = frozenset(watched)
        self._context = ("record", "", "") in watched
        self._fixed = {key: open_json(_fixed_fact(key)) for key in watched if key[0] in ("location", "finding")}
        # ', "sex": "female"' for every choice and ', "age": ' for every number, as json.dumps
        # writes them
        self._choices = {
            (name, value): f", {json.dumps(name)}: {json.dumps(value)}"
            for name, values in vocab.CHOICE_FIELDS.items()
            for value in values
        }
        self._numbers = {name: f", {json.dumps(name)}: " for name in vocab.RANGE_FIELDS}

    def __call__(self, record: Record) -> Iterator[str]:
        if self._context:
            yield self._record_fact(record)
        fixed, findings = self._fixed, record["findings"]
        keys = [("location", location, "") for location in record["complaint"]["locations"]]
        keys += [("finding", f, "present") for f in findings["present"]]
        keys += [("finding", f, "absent") for f in findings["absent"]]
        yield from (fixed[key] for key in keys if key in fixed)

    def _record_fact(self, record: Record) -> str:
        """``open_json({"t": "record", **record_context(record)})``, each number moved by
        :func:`engine_number`, written from the pieces made once instead of encoded."""
        context = record_context(record)
        parts = ['{"t": "record", "pregnant": true' if context.pop("pregnant") else '{"t": "record", "pregnant": false']
        for name, value in context.items():
            if (number := self._numbers.get(name)) is not None:
                parts.append(number + _number_json(engine_number(value)))
            else:
                parts.append(self._choices.get((name, value)) or f", {json.dumps(name)}: {json.dumps(value)}")
        return "".join(parts)


def _number_json(value: float) -> str:
    """``json.dumps(value)``: for an int or a finite float that is its ``repr``."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return repr(value)
    return json.dumps(value)
