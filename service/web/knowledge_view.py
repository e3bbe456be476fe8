"""What the knowledge-base page shows, worked out from the :class:`KnowledgeBase` objects.

Nothing here names a rule, cause or finding: the page is generated from whatever the knowledge
base holds, so a rule added to ``rules/`` appears on it without touching this code. The
traceability table is read from ``rules/TRACEABILITY.md``, the file reviewers already maintain.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, fields
from pathlib import Path

from markupsafe import Markup

from service.knowledge.model import Condition, KnowledgeBase, Layer, Range, Rule

CONDITION_LABELS = {"present": "present", "absent": "absent", "causes": "any supported cause of"}


def _range(name: str, bound: Range) -> str:
    if bound.min is not None and bound.max is not None:
        text = f"{name} {bound.min:g} to {bound.max:g}"
    elif bound.min is not None:
        text = f"{name} ≥ {bound.min:g}"
    elif bound.max is not None:
        text = f"{name} ≤ {bound.max:g}"
    else:
        return f"{name} not given"
    return f"{text}, or not given" if bound.unknown else text


def conditions(when: Condition) -> list[str]:
    """A rule's conditions, one readable line each (all must hold).

    Read field by field from the :class:`Condition`, so a condition the model gains later shows
    up here without a change.
    """
    lines = []
    for spec in fields(when):
        value = getattr(when, spec.name)
        if value is None or value == ():
            continue
        if isinstance(value, Range):
            lines.append(_range(spec.name, value))
        elif isinstance(value, bool):
            lines.append(spec.name if value else f"not {spec.name}")
        else:
            lines.append(f"{CONDITION_LABELS.get(spec.name, spec.name)}: " + ", ".join(value))
    return lines


def conclusion(rule: Rule, kb: KnowledgeBase) -> str:
    """What the rule concludes, in words, by layer."""
    if rule.layer in (Layer.CONTEXT, Layer.DERIVED):
        return f"derives finding {rule.derive}"
    if rule.layer is Layer.EVIDENCE:
        direction = "supports" if rule.supports else "argues against"
        return f"{direction} {kb.causes[rule.cause_id].name} ({rule.cause_id}), weight {rule.weight:g}"
    if rule.layer is Layer.ESCALATION:
        flag = "RED FLAG — " if rule.red_flag else ""
        refer = f"; refer to {', '.join(rule.refer)}" if rule.refer else ""
        points = f"; points to {', '.join(rule.implicates)}" if rule.implicates else ""
        return f"{flag}urgency {rule.level}: {rule.reason}{refer}{points}"
    if rule.layer is Layer.CARE:
        return f"offers care {rule.care}"
    removed = [*rule.drug_classes, *rule.modalities]
    cautioned = [*rule.caution_drug_classes, *rule.caution_modalities]
    parts = ([f"removes {', '.join(removed)}"] if removed else []) + (
        [f"cautions on {', '.join(cautioned)}"] if cautioned else []
    )
    return f"{'; '.join(parts)}: {rule.reason}"


def contraindications(kb: KnowledgeBase) -> dict[str, list[tuple[Rule, str]]]:
    """For each care item, the contraindication rules that remove it or caution on it."""
    rules = kb.rules_in(Layer.CONTRAINDICATION)
    return {
        item.id: [(r, "removed") for r in rules if r.removes(item)]
        + [(r, "caution") for r in rules if r.cautions(item)]
        for item in kb.care.values()
    }


def red_flag_findings(kb: KnowledgeBase) -> set[str]:
    """Findings that a red-flag rule needs present: what the page highlights."""
    return {f for r in kb.rules_in(Layer.ESCALATION) if r.red_flag for f in r.when.present}


@dataclass(frozen=True)
class TraceSection:
    title: str
    intro: list[Markup]
    header: list[Markup]
    rows: list[list[Markup]]


_CODE = re.compile(r"`([^`]+)`")


def inline(text: str, rule_ids: set[str]) -> Markup:
    """Markdown code spans as <code>, linked to the rule when they name one."""

    def code(match: re.Match[str]) -> str:
        name = match.group(1)
        inner = f"<code>{name}</code>"
        return f'<a href="#rule-{name}">{inner}</a>' if name in rule_ids else inner

    return Markup(_CODE.sub(code, html.escape(text, quote=False)))


def traceability(file: Path, kb: KnowledgeBase) -> list[TraceSection]:
    """rules/TRACEABILITY.md as sections of rows (its headings, paragraphs and tables).

    A knowledge base without the file (a custom RULES_DIR) has no table to show, not an error.
    """
    if not file.exists():
        return []
    ids = set(kb.rules) | set(kb.care)
    sections: list[TraceSection] = []
    for block in re.split(r"^## ", file.read_text(), flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        table = [line for line in body.splitlines() if line.startswith("|")]
        cells = [[inline(c.strip(), ids) for c in line.strip("|").split("|")] for line in table]
        prose = [line for line in body.split("\n\n") if line.strip() and not line.lstrip().startswith("|")]
        sections.append(
            TraceSection(
                title=title.strip(),
                intro=[inline(" ".join(p.split()), ids) for p in prose],
                header=cells[0] if cells else [],
                rows=cells[2:],
            )
        )
    return sections
