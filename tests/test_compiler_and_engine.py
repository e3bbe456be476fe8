"""The compiled durable_rules ruleset fires exactly what the knowledge base says."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from service.knowledge.loader import load_knowledge_base
from service.reasoning.assessor import Assessor
from service.reasoning.durable.compiler import compile_knowledge_base
from service.reasoning.durable.driver import DurableRulesEngine
from service.reasoning.durable.facts import RecordFacts, engine_number, identity, open_json
from service.reasoning.record import record_context
from service.web.documents import assessment_document
from tests.conftest import make_record
from tests.reference import ReferenceEngine, fired_rules
from tests.strategies import records
from tests.test_worker_start import QUIET_RECORD, quiet_rules


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
            "finding:pregnancy_trimester_2": "present",
            "by": "CTX-TRIMESTER-2",
        },
    )


def test_finding_rules_compile_to_one_pattern_per_fact(kb) -> None:
    compiled = compile_knowledge_base(kb)
    patterns = compiled.ruleset["CAUSE-SCIATICA-NO-RADIATION"]["all"]
    assert [next(iter(p)) for p in patterns] == ["a0", "a1"]
    assert compiled.consequences["CAUSE-SCIATICA-NO-RADIATION"] == ()  # against-evidence asserts nothing
    assert compiled.consequences["CAUSE-SCIATICA-THIGH"] == (
        {"t": "supported", "cause": "sciatica", "by": "CAUSE-SCIATICA-THIGH", "cause:sciatica": True},
    )
    first_absent = kb.rules["CAUSE-SCIATICA-NO-RADIATION"].when.absent[0]
    assert patterns[0]["a0"] == {"$and": [{"t": "finding"}, {f"finding:{first_absent}": "absent"}]}


def test_patterns_name_what_they_match_by_property_never_by_value(kb) -> None:
    """durable_rules tries every child of a node that tests the same property name: a test of
    ``id`` or ``cause`` against each value made every fact meet about a hundred comparisons."""

    def tested(pattern: object) -> set[str]:
        if isinstance(pattern, list):
            return set().union(*map(tested, pattern))
        assert isinstance(pattern, dict)
        keys = set()
        for key, value in pattern.items():
            keys |= tested(value) if key in ("$and", "$or") else {key}
        return keys

    compiled = compile_knowledge_base(kb)
    bodies = [body for rule in compiled.ruleset.values() for pattern in rule["all"] for body in pattern.values()]
    keys = set().union(*map(tested, bodies))
    facts = [f for consequences in compiled.consequences.values() for f in consequences]
    assert not keys & {"id", "cause", "status"}
    assert {"finding:pain_radiates_below_knee", "cause:sciatica", "location:buttock"} <= keys
    assert all(identity("finding", f["id"]) in f for f in facts if f["t"] == "finding")


def test_rules_with_the_same_conditions_share_one_engine_rule_and_all_fire(assessor, kb) -> None:
    compiled = compile_knowledge_base(kb)
    assert sorted(r for rules in compiled.rules.values() for r in rules) == sorted(kb.rules)  # each once
    assert compiled.rules.keys() == compiled.ruleset.keys()
    assert len(compiled.ruleset) < len(kb.rules)
    shared = next(
        rules
        for rules in compiled.rules.values()
        if len(rules) > 1 and not kb.rules[rules[0]].when.is_context and not kb.rules[rules[0]].when.causes
    )
    when = kb.rules[shared[0]].when
    record = assessor.record(make_record(findings={"present": list(when.present), "absent": list(when.absent)}))
    assert set(shared) <= set(assessor.fire(record))


def test_chaining_reaches_care_through_derived_findings_and_supported_causes(assessor) -> None:
    record = assessor.record(make_record(findings={"present": ["pain_radiates_below_knee"]}))
    fired = assessor.fire(record)
    # input finding -> derived finding -> evidence -> supported cause -> care
    assert fired.index("DER-RADIATING-BELOW-KNEE") < fired.index("CAUSE-SCIATICA-BELOW-KNEE")
    assert fired.index("CAUSE-SCIATICA-BELOW-KNEE") < fired.index("CARE-NEUROTROPHIC-VITAMINS")


def test_engine_agrees_with_a_plain_python_reference_on_5000_random_records(assessor, kb) -> None:
    """Guards the measured durable_rules pitfalls: dropped batches, duplicate facts, chaining."""

    @settings(
        max_examples=5000,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(raw=records(kb))
    def check(raw) -> None:
        record = assessor.record(raw)
        assert set(assessor.fire(record)) == fired_rules(kb, record)

    check()


@pytest.mark.parametrize(
    "raw",
    [
        QUIET_RECORD,
        make_record(
            patient={"age": 46, "sex": "male"},
            complaint={"locations": ["low_back"], "course": "improving", "duration_days": 88},
        ),
    ],
)  # men of 45-49 only, in a knowledge base where they fire no age rule (quiet_rules); anyone else fires a
# context rule at every age (child, possible pregnancy, older adult)
def test_records_that_fire_nothing_fire_nothing_in_both_engines(assessor, tmp_path, raw) -> None:
    kb = load_knowledge_base(quiet_rules(tmp_path))
    record = assessor.record(raw)
    engine = DurableRulesEngine(kb, primer=assessor.record(kb.self_test))
    assert engine.fire(record) == ReferenceEngine(kb).fire(record) == []


def test_the_assessor_gives_the_same_answer_on_either_engine(assessor, kb, english) -> None:
    """The seam holds: the assessment depends on which rules fired, not on the engine."""
    reference = Assessor(kb, ReferenceEngine(kb), assessor.record_schema)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(raw=records(kb))
    def check(raw) -> None:
        record = assessor.record(raw)
        ours, theirs = (
            assessment_document(a.assess(record), texts=english, explain=False) for a in (assessor, reference)
        )
        ours.pop("assessment_id"), theirs.pop("assessment_id")
        assert ours == theirs

    check()


def test_one_request_leaves_nothing_behind_for_the_next(assessor, kb) -> None:
    loud = assessor.record(make_record(findings={"present": ["saddle_anesthesia", "fever"]}))
    quiet = assessor.record(make_record())
    alone = assessor.fire(quiet)
    assessor.fire(loud)
    assert assessor.fire(quiet) == alone
    assert "ESC-CES-SADDLE" not in alone


def test_an_engine_in_a_new_process_builds_its_own_ruleset(assessor, kb, monkeypatch) -> None:
    record = assessor.record(make_record(findings={"present": ["fever"]}))
    engine = DurableRulesEngine(kb, primer=assessor.record(kb.self_test))
    first = engine.fire(record)
    handle = engine._handle
    monkeypatch.setattr("os.getpid", lambda: -1)  # as after a fork
    assert engine.fire(record) == first
    assert engine._handle != handle


@pytest.mark.parametrize("value", [5e-324, 1e-5, 6.99999, 7.0, 1e16, 1e300])
def test_numbers_the_c_parser_cannot_read_still_reach_the_rules(assessor, value) -> None:
    """durable_rules rejects '1e-05' and '1e+16'; the record fact must survive any number."""
    record = assessor.record(
        make_record(patient={"age": 5}, complaint={"severity": min(value, 10), "duration_days": value})
    )
    fired = assessor.fire(record)
    assert "CTX-CHILD" in fired
    assert ("CTX-SEVERE" in fired) == (min(value, 10) >= 7)
    assert ("CTX-PERSISTENT" in fired) == (value >= 14)


@pytest.mark.parametrize("duration", [None, 0, 0.0, 5e-324, 1e-5, 2.5, 14, 10**15, 1e15, 1e16, 10**20, 1e300])
def test_the_record_fact_is_the_json_of_the_records_context(assessor, kb, duration) -> None:
    """RecordFacts writes the record fact from pieces; it must be the very text json.dumps
    writes of record_context (numbers moved by engine_number), for any record."""
    facts = RecordFacts(compile_knowledge_base(kb).watched)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(raw=records(kb))
    def check(raw) -> None:
        if duration is None:
            raw["complaint"].pop("duration_days", None)
        else:
            raw["complaint"]["duration_days"] = duration
        record = assessor.record(raw)
        context = record_context(record)
        for field in context.keys() & {"age", "gestational_week", "severity", "duration_days"}:
            context[field] = engine_number(context[field])
        assert next(iter(facts(record))) == open_json({"t": "record", **context})

    check()


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
