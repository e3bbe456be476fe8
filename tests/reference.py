"""A plain-Python forward chainer over the knowledge base, for differential testing.

It evaluates each rule's conditions directly and iterates to a fixpoint. It shares no code
with the compiler or the engine adapter, so agreement between the two is evidence that the
compiled durable_rules ruleset means what the YAML says.
"""

from __future__ import annotations

from typing import Any

from service import vocabulary as vocab
from service.knowledge.model import Condition, KnowledgeBase, Range
from service.reasoning.record import record_context


def _within(value: float | None, bound: Range | None) -> bool:
    if bound is None:
        return True
    if value is None:
        return bound.unknown
    return (bound.min is None or value >= bound.min) and (bound.max is None or value <= bound.max)


def _record_matches(when: Condition, record: dict[str, Any]) -> bool:
    context = record_context(record)
    return (
        (when.pregnant is None or when.pregnant == context["pregnant"])
        and all(not getattr(when, f) or context[f] in getattr(when, f) for f in vocab.CHOICE_FIELDS)
        and all(_within(context.get(f), getattr(when, f)) for f in vocab.RANGE_FIELDS)
        and (not when.locations or bool(set(when.locations) & set(record["complaint"]["locations"])))
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
