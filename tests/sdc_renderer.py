"""What a conformant SDC renderer shows: FHIR R4 ``Questionnaire.item.enableWhen`` evaluated
against the answers given so far (an item whose condition is false is hidden, and R4 keeps no
answer to it).

R4 leaves one case open: whether ``!=`` holds for a question with no answer ("no answer has a
value equal to" it, read literally, is true; several renderers read it as false). ``literal``
picks the reading, so a test can require an item to be shown under both.
"""

from __future__ import annotations

from typing import Any

_ANSWER = ("valueBoolean", "valueInteger", "valueDecimal", "valueCoding", "valueString")


def _values(answers: list[dict[str, Any]], link_id: str) -> list[Any]:
    given = next((item.get("answer", []) for item in answers if item["linkId"] == link_id), [])
    return [_comparable(next(a[k] for k in _ANSWER if k in a)) for a in given]


def _comparable(value: Any) -> Any:
    return (value.get("system"), value["code"]) if isinstance(value, dict) else value


def _holds(condition: dict[str, Any], answers: list[dict[str, Any]], literal: bool) -> bool:
    values = _values(answers, condition["question"])
    expected = next(_comparable(v) for k, v in condition.items() if k.startswith("answer"))
    operator = condition["operator"]
    if operator == "exists":
        return bool(values) == expected
    if not values:
        return operator == "!=" and literal
    if operator == "=":
        return expected in values
    if operator == "!=":
        return expected not in values
    compare = {">": lambda v: v > expected, "<": lambda v: v < expected}
    compare |= {">=": lambda v: v >= expected, "<=": lambda v: v <= expected}
    return any(compare[operator](v) for v in values)


def shown(item: dict[str, Any], answers: list[dict[str, Any]], *, literal: bool) -> bool:
    """Whether a renderer shows ``item`` after ``answers`` (QuestionnaireResponse items)."""
    conditions = item.get("enableWhen")
    if not conditions:
        return True
    held = [_holds(c, answers, literal) for c in conditions]
    return any(held) if item.get("enableBehavior") == "any" else all(held)
