"""The knowledge base as published data (``GET /v1/knowledge-base``).

Everything a reviewer needs to trace a conclusion: every source, finding, cause, care item
and rule with its conditions, conclusion and sources, in file order (review order); and the
languages patients can be answered in, each with who translated it and its review status.
"""

from __future__ import annotations

from typing import Any

from service.knowledge.model import KnowledgeBase, Range
from service.knowledge.translations import Languages


def _without_empty(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(obj).items() if v is not None and v not in ((), {})}


def _bound(bound: Range) -> dict[str, Any]:
    """A range as the rule files write it: ``unknown`` only where it is set."""
    return {"min": bound.min, "max": bound.max, **({"unknown": True} if bound.unknown else {})}


def describe(kb: KnowledgeBase, languages: Languages) -> dict[str, Any]:
    rules = []
    for rule in kb.rules.values():
        entry = _without_empty(rule)
        entry["when"] = {k: (_bound(v) if isinstance(v, Range) else v) for k, v in _without_empty(rule.when).items()}
        entry["layer"] = str(rule.layer)
        rules.append(entry)
    return {
        "version": kb.version,
        "sha256": kb.sha256,
        "disclaimer": kb.disclaimer,
        "urgency_levels": [_without_empty(level) for level in kb.levels.values()],
        "sources": [_without_empty(source) for source in kb.sources.values()],
        "findings": [_without_empty(finding) for finding in kb.findings.values()],
        "causes": [_without_empty(cause) for cause in kb.causes.values()],
        "care": [_without_empty(item) for item in kb.care.values()],
        "rules": rules,
        "interview": {
            "stop_at_level": kb.interview.stop_at_level,
            "stop_reasons": kb.interview.stop_reasons,
            "asked_after_yes": kb.interview.asked_after_yes,
            "not_asked_when": {finding: list(whens) for finding, whens in kb.interview.not_asked_when.items()},
            "screens": [_without_empty(screen) for screen in kb.interview.screens],
        },
        "languages": [
            {
                "language": c.language,
                "tag": c.tag,
                "name": c.name,
                "translator": c.translator,
                "review": _without_empty(c.review),
            }
            for c in languages
        ],
    }
