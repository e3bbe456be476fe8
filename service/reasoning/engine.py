"""The seam between reasoning and a rule engine: a record in, the rules it fires out.

The assessor needs nothing else from an engine. durable_rules (``service.reasoning.durable``)
is the production implementation; the plain-Python forward chainer in ``tests/reference.py``
is another, and the two are compared on thousands of records in the test suite.
"""

from __future__ import annotations

from typing import Protocol

from service.reasoning.record import Record


class RuleEngine(Protocol):
    def fire(self, record: Record) -> list[str]:
        """The ids of the rules ``record`` fires, each once, in firing order.

        An engine that cannot finish raises; it never returns a partial list, because a
        missing rule could be a missing red flag.
        """
        ...


class EngineError(RuntimeError):
    """The rule engine failed; the assessment must fail with it (a 500), never shrink."""
