"""Clinical scenarios from the source documents and guidelines (tests/scenarios/*.yaml).

Every rule in the knowledge base must be pinned by at least one scenario: a rule that no
scenario makes fire is not done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.vocabulary import URGENCY_LEVELS

SCENARIO_DIR = Path(__file__).parent / "scenarios"
SCENARIOS = [
    scenario
    for path in sorted(SCENARIO_DIR.glob("*.yaml"))
    for scenario in yaml.safe_load(path.read_text())["scenarios"]
]


def _ids(items: list[dict[str, Any]], key: str = "id") -> list[str]:
    return [item[key] for item in items]


def check(expect: dict[str, Any], result: dict[str, Any]) -> None:  # noqa: PLR0912
    causes = _ids(result["causes"])
    care = _ids(result["care"])
    suppressed = {s["id"]: s for s in result["suppressed_care"]}
    level = result["urgency"]["level"]
    for key, wanted in expect.items():
        if key == "level":
            assert level == wanted
        elif key == "level_at_least":
            assert URGENCY_LEVELS.index(level) <= URGENCY_LEVELS.index(wanted)
        elif key == "level_at_most":
            assert URGENCY_LEVELS.index(level) >= URGENCY_LEVELS.index(wanted)
        elif key == "top_cause_in":
            assert causes and causes[0] in wanted, causes
        elif key == "causes_include":
            assert set(wanted) <= set(causes), causes
        elif key == "causes_exclude":
            assert not set(wanted) & set(causes), causes
        elif key == "care_include":
            assert set(wanted) <= set(care), sorted(set(wanted) - set(care))
        elif key == "care_exclude":
            assert not set(wanted) & set(care)
        elif key == "suppressed_include":
            assert set(wanted) <= set(suppressed), sorted(suppressed)
        elif key == "cautions_include":
            offered = {item["id"]: item for item in result["care"]}
            for item, rules in wanted.items():
                assert set(rules) <= {w["rule"] for w in offered[item]["cautions"]}, offered.get(item)
        elif key == "suppressed_rules":
            for item, rules in wanted.items():
                assert set(rules) <= set(suppressed[item]["rules"])
        elif key == "red_flags_include":
            assert set(wanted) <= set(_ids(result["red_flags"]))
        elif key == "red_flags_exclude":
            assert not set(wanted) & set(_ids(result["red_flags"]))
        elif key == "rules_exclude":  # the boundary of a rule: it must not fire here
            assert not set(wanted) & set(_ids(result["trace"], "rule"))
        elif key == "reasons_include":
            assert set(wanted) <= set(_ids(result["urgency"]["reasons"], "rule"))
        elif key == "questions_include":
            assert set(wanted) <= set(_ids(result["questions"], "finding"))
        elif key == "first_question_is_red_flag":
            rule = result["questions"][0]["rules"][0]
            assert rule.startswith("ESC-") and rule in RED_FLAG_RULES
        elif key == "advice_contains":
            assert wanted in result["urgency"]["advice"]
        elif key == "referral_include":
            assert set(wanted) <= set(result["referral"]["specialties"])
        elif key == "against_include":
            by_id = {c["id"]: c for c in result["causes"]}
            for cause, findings in wanted.items():
                assert set(findings) <= set(by_id[cause]["evidence"]["against"])
        else:
            raise AssertionError(f"unknown expectation {key!r}")


RED_FLAG_RULES: set[str] = set()


@pytest.fixture(scope="module", autouse=True)
def _red_flag_rules(kb) -> None:
    RED_FLAG_RULES.update(r.id for r in kb.rules.values() if r.red_flag)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario(scenario: dict[str, Any], assess, kb) -> None:
    assert set(scenario["sources"]) <= set(kb.sources), "scenario cites an unknown source"
    result = assess(scenario["record"])
    fired = _ids(result["trace"], "rule")
    missing = [rule for rule in scenario["pins"] if rule not in fired]
    assert not missing, f"pinned rules did not fire: {missing}"
    check(scenario["expect"], result)


def test_every_rule_is_pinned_by_a_scenario(kb) -> None:
    pinned = {rule for s in SCENARIOS for rule in s["pins"]}
    for scenario in SCENARIOS:  # asserting a red flag, reason or care item pins its rule too
        expect = scenario["expect"]
        pinned.update(expect.get("red_flags_include", ()), expect.get("reasons_include", ()))
        for item in (*expect.get("care_include", ()), *expect.get("suppressed_include", ())):
            pinned.add(kb.care[item].rule)
    assert pinned <= set(kb.rules), sorted(pinned - set(kb.rules))
    assert not set(kb.rules) - pinned, sorted(set(kb.rules) - pinned)


def test_every_source_document_has_scenarios() -> None:
    cited = {source for s in SCENARIOS for source in s["sources"]}
    assert {"S000", "S001", "S002", "S003", "S004"} <= cited
