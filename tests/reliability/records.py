"""Seeded, contract-valid, varied symptom records for load tests (no hypothesis at run time)."""

from __future__ import annotations

import random
from typing import Any

from service import vocabulary as vocab
from service.knowledge.model import KnowledgeBase


def varied_records(kb: KnowledgeBase, count: int, seed: int = 20261121) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    findings = kb.input_findings
    records = []
    for _ in range(count):
        sex = rng.choice(vocab.SEXES)
        patient: dict[str, Any] = {"age": rng.randint(*vocab.AGE_RANGE), "sex": sex}
        if sex != "male" and rng.random() < 0.4:
            patient["pregnancy"] = {"gestational_week": rng.randint(*vocab.GESTATIONAL_WEEK_RANGE)}
        answered = rng.sample(findings, rng.randint(0, 10))
        split = rng.randint(0, len(answered))
        records.append(
            {
                "patient": patient,
                "complaint": {
                    "locations": rng.sample(vocab.LOCATIONS, rng.randint(1, 3)),
                    "side": rng.choice(vocab.SIDES),
                    "onset": rng.choice(vocab.ONSETS),
                    "course": rng.choice(vocab.COURSES),
                    "severity": rng.randint(0, 10),
                    "duration_days": round(rng.uniform(0, 120), 1),
                },
                "findings": {"present": answered[:split], "absent": answered[split:]},
            }
        )
    return records
