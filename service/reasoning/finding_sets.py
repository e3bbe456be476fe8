"""Sets of findings as integers: one bit per finding, in vocabulary order.

Each assessment asks the same few questions of many rules ("is any of these answered?",
"which of these are still unknown?", "which findings do these rules cite?"); as bits each is
one integer operation instead of a set built and hashed, and a set's findings come out in
vocabulary order without sorting. Depends only on the knowledge base's vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.knowledge.model import KnowledgeBase

SPELLINGS_KEPT = 4096  # sets whose spelling is kept: a bound on memory, whatever records come


class FindingSets:
    """The bit of each finding of one knowledge base, and the way back to finding ids."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.ids = tuple(sorted(kb.finding_order, key=kb.finding_order.__getitem__))
        self.bit = {f: 1 << i for i, f in enumerate(self.ids)}
        self._spelled: dict[int, tuple[str, ...]] = {}

    def of(self, findings: Iterable[str]) -> int:
        """The set of ``findings`` (each listed once: a repeat would add its bit twice)."""
        bit = self.bit
        return sum(bit[f] for f in findings)

    def spelled(self, findings: int) -> tuple[str, ...]:
        """The findings of a set in vocabulary order: one spelling per set, so parts of it can
        be looked up and answers list findings in a fixed order."""
        spelled = self._spelled.get(findings)
        if spelled is None:
            ids, rest, out = self.ids, findings, []
            while rest:
                lowest = rest & -rest
                out.append(ids[lowest.bit_length() - 1])
                rest ^= lowest
            spelled = tuple(out)
            if len(self._spelled) < SPELLINGS_KEPT:
                self._spelled[findings] = spelled
        return spelled
