"""``GET /knowledge-base``: the knowledge base as one HTML page, for clinical reviewers.

Server-rendered with Jinja from the :class:`KnowledgeBase` the service runs (no JavaScript
framework; a few lines of plain JavaScript filter the page as you type). Every rule by layer
with its rationale, conditions, conclusion and sources; every source; the traceability table;
the care items with what can remove them; the languages with their review status; and a
picture of the chain with red flags in red.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template

from service.knowledge.model import Layer
from service.web.chain import chain_svg
from service.web.components import components
from service.web.knowledge_view import conclusion, conditions, contraindications, red_flag_findings, traceability

bp = Blueprint("knowledge_page", __name__, template_folder="templates")


@bp.get("/knowledge-base")
def knowledge_base_page() -> str:
    parts = components()
    kb = parts.assessor.kb
    red = red_flag_findings(kb)
    return render_template(
        "knowledge_base.html",
        kb=kb,
        languages=parts.languages,
        layers=[(layer, kb.rules_in(layer)) for layer in Layer if kb.rules_in(layer)],
        conditions=conditions,
        conclusion=conclusion,
        contraindications=contraindications(kb),
        red_flag_findings=red,
        chain=chain_svg(kb, red),
        traceability=traceability(Path(current_app.config["RULES_DIR"]) / "TRACEABILITY.md", kb),
    )
