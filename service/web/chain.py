"""The forward chain as a picture: findings → derived findings → causes → care, as inline SVG.

Columns in file order; a line for every rule link (a finding a derived rule needs, a finding
a supporting evidence rule needs, a cause a care rule serves). Findings that a red-flag rule
needs are drawn in red. Generated from the knowledge base, like the rest of the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from service.knowledge.model import KnowledgeBase, Layer

RECORD = "record"  # the node standing for the patient and complaint fields context rules read
ROW = 17
COLUMN = 270
TOP = 40
TITLES = ("findings (input)", "derived findings", "causes", "care")


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    column: int
    row: int
    red_flag: bool

    @property
    def x(self) -> int:
        return 10 + self.column * COLUMN

    @property
    def y(self) -> int:
        return TOP + self.row * ROW


def _nodes(kb: KnowledgeBase, red: set[str]) -> dict[str, Node]:
    columns: list[list[tuple[str, str]]] = [
        [(RECORD, "record: age, sex, pregnancy, complaint")]
        + [(f.id, f.id) for f in kb.findings.values() if not f.derived],
        [(f.id, f.id) for f in kb.findings.values() if f.derived],
        [(c.id, c.name) for c in kb.causes.values()],
        [(i.id, i.id) for i in kb.care.values()],
    ]
    return {
        key: Node(node_id, label, column, row, node_id in red)
        for column, entries in enumerate(columns)
        for row, (node_id, label) in enumerate(entries)
        for key in [f"{column}:{node_id}"]
    }


def _edges(kb: KnowledgeBase) -> set[tuple[str, str]]:
    """(from, to) keys as ``column:id``."""
    edges: set[tuple[str, str]] = set()
    derived = {f.id for f in kb.findings.values() if f.derived}

    def finding(f: str) -> str:
        return f"1:{f}" if f in derived else f"0:{f}"

    for rule in kb.rules.values():
        if rule.layer is Layer.CONTEXT:
            edges.add((f"0:{RECORD}", f"1:{rule.derive}"))
        elif rule.layer is Layer.DERIVED:
            edges.update((finding(f), f"1:{rule.derive}") for f in rule.when.present)
        elif rule.supports:
            edges.update((finding(f), f"2:{rule.cause}") for f in rule.when.present)
        elif rule.layer is Layer.CARE:
            edges.update((f"2:{c}", f"3:{rule.care}") for c in rule.when.causes)
    return edges


def chain_svg(kb: KnowledgeBase, red: set[str]) -> Markup:
    nodes = _nodes(kb, red)
    rows = max(n.row for n in nodes.values()) + 1
    height = TOP + rows * ROW + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="chain-svg" width="{4 * COLUMN}" height="{height}" '
        f'role="img" aria-label="The forward chain from findings to care">'
    ]
    parts += [
        f'<text class="column-title" x="{10 + i * COLUMN}" y="18">{escape(title)}</text>'
        for i, title in enumerate(TITLES)
    ]
    for source, target in sorted(_edges(kb)):
        a, b = nodes.get(source), nodes.get(target)
        if a is None or b is None:
            continue
        red_edge = " red-flag" if a.red_flag else ""
        parts.append(
            f'<line class="edge{red_edge}" x1="{a.x + COLUMN - 40}" y1="{a.y - 4}" x2="{b.x - 4}" y2="{b.y - 4}"/>'
        )
    for node in nodes.values():
        css = "node red-flag" if node.red_flag else "node"
        parts.append(
            f'<text class="{css}" data-id="{escape(node.id)}" x="{node.x}" y="{node.y}">'
            f"<title>{escape(node.id)}</title>{escape(node.label[:38])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
