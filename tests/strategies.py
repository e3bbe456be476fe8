"""Hypothesis strategies for contract-valid symptom records, drawn from the knowledge base."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from service import vocabulary as vocab
from service.knowledge.model import KnowledgeBase


def records(kb: KnowledgeBase) -> st.SearchStrategy[dict[str, Any]]:
    findings = kb.input_findings

    @st.composite
    def _record(draw: st.DrawFn) -> dict[str, Any]:
        sex = draw(st.sampled_from(vocab.SEXES))
        patient: dict[str, Any] = {"age": draw(st.integers(*vocab.AGE_RANGE)), "sex": sex}
        if sex != "male" and draw(st.booleans()):
            patient["pregnancy"] = {"gestational_week": draw(st.integers(*vocab.GESTATIONAL_WEEK_RANGE))}
        complaint: dict[str, Any] = {
            "locations": draw(st.lists(st.sampled_from(vocab.LOCATIONS), min_size=1, max_size=3, unique=True)),
            "side": draw(st.sampled_from(vocab.SIDES)),
            "onset": draw(st.sampled_from(vocab.ONSETS)),
            "course": draw(st.sampled_from(vocab.COURSES)),
        }
        # floats too: tiny and huge values once made the C engine drop the whole record fact
        if draw(st.booleans()):
            complaint["severity"] = draw(
                st.one_of(
                    st.integers(*vocab.SEVERITY_RANGE),
                    st.floats(*vocab.SEVERITY_RANGE, allow_nan=False),
                )
            )
        if draw(st.booleans()):
            complaint["duration_days"] = draw(
                st.one_of(st.integers(0, 400), st.floats(0, 1e300, allow_nan=False, allow_infinity=False))
            )
        answered = draw(st.lists(st.sampled_from(findings), max_size=12, unique=True))
        split = draw(st.integers(0, len(answered)))
        return {
            "patient": patient,
            "complaint": complaint,
            "findings": {"present": answered[:split], "absent": answered[split:]},
        }

    return _record()
