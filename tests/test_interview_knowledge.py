"""rules/interview.yaml is knowledge like any rule file: checked at start, part of the digest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.knowledge.loader import load_knowledge_base
from service.knowledge.model import KnowledgeBaseError, Layer
from tests.conftest import edit


def screen(document: dict[str, Any], screen_id: str) -> dict[str, Any]:
    return next(s for s in document["screens"] if s["id"] == screen_id)


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "INT-PREGNANCY",
        lambda d: screen(d, "INT-PREGNANCY")["ask"].append("vaginal_bleding"),
        "unknown finding 'vaginal_bleding'",
    ),
    ("INT-CHILD", lambda d: screen(d, "INT-CHILD")["when"].update(present=["chlid"]), "unknown finding 'chlid'"),
    ("INT-CHILD", lambda d: screen(d, "INT-CHILD")["ask"].append("child"), "'child' is derived"),
    ("INT-CHILD", lambda d: screen(d, "INT-CHILD")["ask"].append("dull_ache"), "raises no urgency in any rule"),
    ("INT-CHILD", lambda d: screen(d, "INT-CHILD").update(sources=["NICE-LIMP"]), "unknown source 'NICE-LIMP'"),
    ("INT-CHILD", lambda d: d["screens"].append(dict(screen(d, "INT-CHILD"))), "duplicate screen id"),
    ("INT-CHILD", lambda d: screen(d, "INT-CHILD")["when"].update(locations=["knee"]), "Must be one of"),
    ("file", lambda d: d["stop"].update(at_level="soon"), "Must be one of"),
    (
        "asked_after_yes progressive_leg_weakness",
        lambda d: d["asked_after_yes"].update(progressive_leg_weakness="leg_weaknes"),
        "'leg_weaknes' is no input finding",
    ),
    (
        "not_asked_when sexual_dysfunction",
        lambda d: d["not_asked_when"].update(sexual_dysfunction=["chlid_under_12"]),
        "unknown finding 'chlid_under_12'",
    ),
    (
        "not_asked_when child",
        lambda d: d["not_asked_when"].update(child=["child_under_12"]),
        "'child' is no input finding",
    ),
    ("POLICY-INTERVIEW-ORDER", lambda d: d["sources"].append(dict(d["sources"][0])), "duplicate source id"),
]


@pytest.mark.parametrize(("item", "change", "message"), BROKEN, ids=[f"{i}:{m}" for i, _, m in BROKEN])
def test_a_broken_interview_file_is_refused_naming_file_and_item(rules_copy: Path, item, change, message) -> None:
    edit(rules_copy, "interview.yaml", change)
    with pytest.raises(KnowledgeBaseError) as refused:
        load_knowledge_base(rules_copy)
    assert f"rules/interview.yaml: {item}" in str(refused.value)
    assert message in str(refused.value)


def test_the_interview_file_is_part_of_the_digest(rules_copy: Path, kb) -> None:
    edit(rules_copy, "interview.yaml", lambda d: screen(d, "INT-CHILD").update(rationale="changed"))
    assert load_knowledge_base(rules_copy).sha256 != kb.sha256


def test_every_screen_cites_a_source_stating_why_and_the_policies_are_published(kb, client) -> None:
    for item in kb.interview.screens:
        assert any(kb.sources[s].kind == "policy" for s in item.sources), item.id
    published = client.get("/v1/knowledge-base").get_json()
    assert {"POLICY-INTERVIEW-ORDER", "POLICY-INTERVIEW-SCOPE"} <= {s["id"] for s in published["sources"]}
    assert [s["id"] for s in published["interview"]["screens"]] == [s.id for s in kb.interview.screens]


def test_the_reviewers_page_shows_every_screen_in_priority_order(client, kb) -> None:
    page = client.get("/knowledge-base").get_data(as_text=True)
    positions = [page.index(f'id="screen-{screen.id}"') for screen in kb.interview.screens]
    assert positions == sorted(positions)
    assert all(page.count(f'href="#source-{s}"') for screen in kb.interview.screens for s in screen.sources)


def test_every_red_flag_can_be_reached_by_the_questions_some_screen_asks(kb) -> None:
    """A red flag whose findings no screen asks could only ever be volunteered: each finding it
    needs is asked by some screen, comes from the record, or is derived from findings that are."""
    asked = {f for screen in kb.interview.screens for f in screen.ask}
    from_record = {r.derive for r in kb.rules.values() if r.layer is Layer.CONTEXT}

    def reachable(finding: str) -> bool:
        if not kb.findings[finding].derived:
            return finding in asked
        return finding in from_record or any(
            all(reachable(f) for f in rule.when.present) for rule in kb.derivers.get(finding, ())
        )

    unreachable = {
        r.id: [f for f in r.when.present if not reachable(f)] for r in kb.rules_in(Layer.ESCALATION) if r.red_flag
    }
    assert not {rule: findings for rule, findings in unreachable.items() if findings}


def test_a_young_child_is_not_asked_about_sexual_function_but_an_answer_still_counts(client) -> None:
    def questions(age: int, present: list[str]) -> tuple[str, list[str]]:
        record = {
            "patient": {"age": age, "sex": "female"},
            "complaint": {"locations": ["buttock"]},
            "findings": {"present": present, "absent": []},
        }
        answer = client.post("/v1/assessments", json=record).get_json()
        return answer["urgency"]["level"], [q["finding"] for q in answer["questions"]]

    assert "sexual_dysfunction" not in questions(11, [])[1]
    assert "sexual_dysfunction" in questions(12, [])[1]
    assert questions(11, ["sexual_dysfunction"])[0] == "emergency"  # volunteered: the red flag stands
