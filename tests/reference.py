"""A plain-Python forward chainer over the knowledge base, for differential testing.

It evaluates each rule's conditions directly and iterates to a fixpoint. It shares no code
with the compiler or the engine adapter, so agreement between the two is evidence that the
compiled durable_rules ruleset means what the YAML says.
"""

from __future__ import annotations

from typing import Any

from service.knowledge.model import Condition, KnowledgeBase, Range


def _within(value: float | None, bound: Range | None) -> bool:
    if bound is None:
        return True
    if value is None:
        return False
    return (bound.min is None or value >= bound.min) and (bound.max is None or value <= bound.max)


def _record_matches(when: Condition, record: dict[str, Any]) -> bool:
    patient, complaint = record["patient"], record["complaint"]
    pregnancy = patient.get("pregnancy")
    week = pregnancy["gestational_week"] if pregnancy else None
    return (
        (when.pregnant is None or when.pregnant == (pregnancy is not None))
        and (not when.sex or patient["sex"] in when.sex)
        and _within(patient["age"], when.age)
        and _within(week, when.gestational_week)
        and (not when.locations or bool(set(when.locations) & set(complaint["locations"])))
        and all(not getattr(when, a) or complaint[a] in getattr(when, a) for a in ("side", "onset", "course"))
        and _within(complaint.get("severity"), when.severity)
        and _within(complaint.get("duration_days"), when.duration_days)
    )


class ReferenceEngine:
    """The seam's second implementation (:class:`service.reasoning.engine.RuleEngine`)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb

    def fire(self, record: dict[str, Any]) -> list[str]:
        """Fired rules in file order: the chainer has no firing order worth comparing."""
        fired = fired_rules(self._kb, record)
        return [rule_id for rule_id in self._kb.rules if rule_id in fired]


def fired_rules(kb: KnowledgeBase, record: dict[str, Any]) -> set[str]:
    present = set(record["findings"]["present"])
    absent = set(record["findings"]["absent"])
    supported: set[str] = set()
    fired: set[str] = set()
    changed = True
    while changed:
        changed = False
        for rule in kb.rules.values():
            if rule.id in fired:
                continue
            when = rule.when
            if when.is_context:
                ok = _record_matches(when, record)
            else:
                ok = (
                    set(when.present) <= present
                    and set(when.absent) <= absent
                    and (not when.causes or bool(set(when.causes) & supported))
                )
            if ok:
                fired.add(rule.id)
                changed = True
                if rule.derive:
                    present.add(rule.derive)
                if rule.supports:
                    supported.add(rule.cause)
    return fired
