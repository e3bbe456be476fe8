"""The compiled durable_rules ruleset fires exactly what the knowledge base says."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from service.engine import RuleEngine
from service.facts import engine_number
from service.knowledge.compiler import compile_knowledge_base
from tests.conftest import make_record
from tests.reference import fired_rules
from tests.strategies import records


def test_context_rules_compile_to_record_patterns(kb) -> None:
    compiled = compile_knowledge_base(kb)
    trimester_2 = compiled.ruleset["CTX-TRIMESTER-2"]["all"]
    assert trimester_2 == [
        {
            "record": {
                "$and": [
                    {"t": "record"},
                    {"$gte": {"gestational_week": 14}},
                    {"$lte": {"gestational_week": 27}},
                ]
            }
        }
    ]
    assert compiled.consequences["CTX-TRIMESTER-2"] == (
        {
            "t": "finding",
            "id": "pregnancy_trimester_2",
            "status": "present",
            "by": "CTX-TRIMESTER-2",
        },
    )


def test_finding_rules_compile_to_one_pattern_per_fact(kb) -> None:
    compiled = compile_knowledge_base(kb)
    patterns = compiled.ruleset["CAUSE-SCIATICA-NO-RADIATION"]["all"]
    assert [next(iter(p)) for p in patterns] == ["a0", "a1"]
    assert compiled.consequences["CAUSE-SCIATICA-NO-RADIATION"] == ()  # against-evidence asserts nothing
    assert compiled.consequences["CAUSE-SCIATICA-THIGH"] == (
        {"t": "supported", "cause": "sciatica", "by": "CAUSE-SCIATICA-THIGH"},
    )


def test_chaining_reaches_care_through_derived_findings_and_supported_causes(runtime) -> None:
    record = runtime.request_schema.load(make_record(findings={"present": ["pain_radiates_below_knee"]}))
    fired = runtime.assessor.fire(record)
    # input finding -> derived finding -> evidence -> supported cause -> care
    assert fired.index("DER-RADIATING-BELOW-KNEE") < fired.index("CAUSE-SCIATICA-BELOW-KNEE")
    assert fired.index("CAUSE-SCIATICA-BELOW-KNEE") < fired.index("CARE-NEUROTROPHIC-VITAMINS")


def test_engine_agrees_with_a_plain_python_reference_on_1000_random_records(runtime, kb) -> None:
    """Guards the measured durable_rules pitfalls: dropped batches, duplicate facts, chaining."""

    @settings(
        max_examples=1000,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(raw=records(kb))
    def check(raw) -> None:
        record = runtime.request_schema.load(raw)
        assert set(runtime.assessor.fire(record)) == fired_rules(kb, record)

    check()


def test_one_request_leaves_nothing_behind_for_the_next(runtime, kb) -> None:
    loud = runtime.request_schema.load(make_record(findings={"present": ["saddle_anesthesia", "fever"]}))
    quiet = runtime.request_schema.load(make_record())
    alone = runtime.assessor.fire(quiet)
    runtime.assessor.fire(loud)
    assert runtime.assessor.fire(quiet) == alone
    assert "ESC-CES-SADDLE" not in alone


def test_an_engine_in_a_new_process_builds_its_own_host(kb, monkeypatch) -> None:
    facts = [{"t": "finding", "id": "fever", "status": "present"}]
    engine = RuleEngine(compile_knowledge_base(kb), primer=facts)
    first = engine.run(facts)
    host = engine._host
    monkeypatch.setattr("os.getpid", lambda: -1)  # as after a fork
    assert engine.run(facts) == first
    assert engine._host is not host


@pytest.mark.parametrize("value", [5e-324, 1e-5, 6.99999, 7.0, 1e16, 1e300])
def test_numbers_the_c_parser_cannot_read_still_reach_the_rules(runtime, value) -> None:
    """durable_rules rejects '1e-05' and '1e+16'; the record fact must survive any number."""
    record = runtime.request_schema.load(
        make_record(patient={"age": 5}, complaint={"severity": min(value, 10), "duration_days": value})
    )
    fired = runtime.assessor.fire(record)
    assert "CTX-CHILD" in fired
    assert ("CTX-SEVERE" in fired) == (min(value, 10) >= 7)
    assert ("CTX-PERSISTENT" in fired) == (value >= 14)


def test_engine_numbers_keep_every_threshold_comparison(kb) -> None:
    thresholds = {
        b
        for r in kb.rules.values()
        for rng in (r.when.severity, r.when.duration_days)
        if rng
        for b in (rng.min, rng.max)
        if b is not None
    }
    for value in (0.0, 5e-324, 1e-5, 0.5, 13.999, 14.0, 1e16, 1e300):
        for threshold in thresholds:
            assert (engine_number(value) >= threshold) == (value >= threshold)
            assert (engine_number(value) <= threshold) == (value <= threshold)
