"""What one app instance holds: the knowledge base and what is built from it at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import Schema

from service.assessment import Assessor
from service.engine import RuleEngine
from service.facts import record_facts
from service.knowledge.compiler import compile_knowledge_base
from service.knowledge.loader import load_knowledge_base
from service.knowledge.model import KnowledgeBase
from service.openapi import build_openapi
from service.schemas import build_request_schema


@dataclass(frozen=True)
class Runtime:
    knowledge_base: KnowledgeBase
    assessor: Assessor
    request_schema: Schema
    openapi: dict[str, Any]

    @classmethod
    def start(cls, rules_dir: Path) -> Runtime:
        """Load, check and compile the knowledge base; refuse to start if anything is wrong."""
        kb = load_knowledge_base(rules_dir)
        request_schema = build_request_schema(kb.input_findings)
        primer = record_facts(request_schema().load(kb.self_test))
        return cls(
            knowledge_base=kb,
            assessor=Assessor(kb, RuleEngine(compile_knowledge_base(kb), primer)),
            request_schema=request_schema(),
            openapi=build_openapi(request_schema),
        )

    def self_test(self) -> bool:
        """Run the knowledge base's own self-test record through the engine."""
        record = self.request_schema.load(self.knowledge_base.self_test)
        fired = set(self.assessor.fire(record))
        return set(self.knowledge_base.self_test_rules) <= fired
