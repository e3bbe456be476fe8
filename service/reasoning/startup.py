"""Build the reasoning for a knowledge base: the record schema, the engine, the assessor."""

from __future__ import annotations

from service.knowledge.model import KnowledgeBase
from service.reasoning.assessor import Assessor
from service.reasoning.durable.driver import DurableRulesEngine
from service.reasoning.record import build_record_schema


def start_reasoning(kb: KnowledgeBase) -> Assessor:
    """The assessor for ``kb`` on durable_rules, primed with the knowledge base's self-test record."""
    record_schema = build_record_schema(kb.input_findings)()
    engine = DurableRulesEngine(kb, primer=record_schema.load(kb.self_test))
    return Assessor(kb, engine, record_schema)
