"""An onset, severity, course, side or duration left out is read by the rules as the harmless
value; the interview must then ask it while a value could raise the urgency, alone or with
another, without raising the urgency shown, and must ask the findings a red flag needs with
it meanwhile (service/reasoning/record_fields.py and questions.py; attack rounds 6 and 7)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.reasoning.record_fields import FIELDS, unknown_fields
from tests.strategies import records

ASSESSMENTS = "/v1/assessments"


def _answered(client: FlaskClient, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``record`` after an interview whose patient says "yes" to its present findings and "no"
    to every other question, and the last answer."""
    record = copy.deepcopy(record)
    truth = set(record["findings"]["present"])
    record["findings"] = {"present": [], "absent": []}
    for _ in range(80):
        answer = client.post(ASSESSMENTS, json=record).get_json()
        if not answer["questions"]:
            return record, answer
        finding = answer["questions"][0]["finding"]
        record["findings"]["present" if finding in truth else "absent"].append(finding)
    raise AssertionError("the interview did not end")


def _level(client: FlaskClient, record: dict[str, Any], **complaint: Any) -> str:
    changed = copy.deepcopy(record)
    changed["complaint"].update(complaint)
    return client.post(ASSESSMENTS, json=changed).get_json()["urgency"]["level"]


@pytest.mark.parametrize(
    ("record", "field", "value", "shown", "could_be"),
    [
        pytest.param(
            {
                "patient": {"age": 80, "sex": "male"},
                "complaint": {"locations": ["hip"], "course": "worsening"},
                "findings": {"present": ["cannot_bear_weight"]},
            },
            "onset",
            "sudden",
            "urgent",
            "emergency",
            id="80-cannot-bear-weight-onset-not-given",
        ),
        pytest.param(
            {
                "patient": {"age": 40, "sex": "male"},
                "complaint": {"locations": ["thigh"], "severity": 3, "course": "stable", "side": "left"},
                "findings": {"present": ["anticoagulant_use", "numbness"]},
            },
            "onset",
            "sudden",
            "self_care",
            "emergency",
            id="blood-thinner-numb-leg-onset-not-given",
        ),
        pytest.param(
            {
                "patient": {"age": 58, "sex": "male"},
                "complaint": {"locations": ["buttock"], "onset": "sudden", "course": "stable", "side": "left"},
                "findings": {"present": ["cardiovascular_disease"]},
            },
            "severity",
            9,
            "routine",
            "emergency",
            id="vascular-disease-sudden-severity-not-given",
        ),
        # The red flag needs the field and a finding: the finding is asked while the field is
        # unknown, then the field (seventh attack round: fainting was never asked, the
        # interview ended "complete" at routine)
        pytest.param(
            {
                "patient": {"age": 53, "sex": "male"},
                "complaint": {"locations": ["buttock"], "side": "left", "severity": 8, "course": "worsening"},
                "findings": {"present": ["fainting_or_dizziness"]},
            },
            "onset",
            "sudden",
            "routine",
            "emergency",
            id="fainting-onset-not-given",
        ),
        pytest.param(
            {
                "patient": {"age": 40, "sex": "female"},
                "complaint": {
                    "locations": ["hip"],
                    "side": "right",
                    "severity": 5,
                    "course": "stable",
                    "duration_days": 1,
                },
                "findings": {"present": ["long_term_corticosteroids"]},
            },
            "onset",
            "sudden",
            "self_care",
            "urgent",
            id="steroids-onset-not-given",
        ),
        # a duration left out is read as new; long-standing pain is examined (ESC-PERSISTENT)
        pytest.param(
            {
                "patient": {"age": 40, "sex": "female"},
                "complaint": {
                    "locations": ["buttock"],
                    "side": "left",
                    "onset": "gradual",
                    "severity": 5,
                    "course": "stable",
                },
                "findings": {"present": []},
            },
            "duration_days",
            20,
            "self_care",
            "routine",
            id="moderate-pain-duration-not-given",
        ),
    ],
)
def test_an_unknown_field_that_could_raise_the_urgency_keeps_the_interview_open(
    client: FlaskClient, *, record: dict, field: str, value: Any, shown: str, could_be: str
) -> None:
    answered, answer = _answered(client, record)
    assert answer["urgency"]["level"] == shown  # the urgency shown is not raised for it
    assert answer["interview"]["complete"] is False
    assert answer["interview"]["asked_enough_reason"] is None
    assert answer["interview"]["record_fields"] == [{"field": f"complaint.{field}", "could_be": could_be}]
    assert _level(client, answered, **{field: value}) == could_be  # and it is what the value gives

    told = copy.deepcopy(answered)
    told["complaint"]["not_known"] = [field]  # asked, and the patient could not say
    answer = client.post(ASSESSMENTS, json=told).get_json()
    assert answer["urgency"]["level"] == shown
    assert answer["interview"]["complete"] is True
    assert answer["interview"]["record_fields"] == []
    assert answer["interview"]["asked_enough_reason"].startswith("There are no more questions to ask, but some")


def test_two_unknown_fields_a_red_flag_needs_together_are_both_named(client: FlaskClient) -> None:
    """A sudden onset and severe pain with vascular disease is an aneurysm; neither alone
    raises anything, so each field probed alone named nothing (seventh attack round)."""
    record = {
        "patient": {"age": 62, "sex": "male"},
        "complaint": {"locations": ["hip"], "side": "left", "course": "recurrent", "duration_days": 2},
        "findings": {"present": ["cardiovascular_disease"]},
    }
    answered, answer = _answered(client, record)
    assert answer["urgency"]["level"] == "routine"
    assert _level(client, answered, onset="sudden") == _level(client, answered, severity=9) == "routine"
    assert _level(client, answered, onset="sudden", severity=9) == "emergency"
    assert answer["interview"]["complete"] is False
    assert answer["interview"]["record_fields"] == [
        {"field": "complaint.onset", "could_be": "emergency"},
        {"field": "complaint.severity", "could_be": "emergency"},
    ]


def test_fields_are_tried_together_when_the_age_is_left_out_too(client: FlaskClient) -> None:
    """A record lacking its age (or, at ``$next-question``, its sex) was probed one field at a
    time, and the interview ended "complete" at routine for the aneurysm above (eighth attack
    round). A few values of what the record lacks keep the fields tried together."""
    record = {
        "patient": {"age": 62, "sex": "male"},
        "complaint": {"locations": ["hip"], "side": "left", "course": "recurrent", "duration_days": 2},
        "findings": {"present": ["cardiovascular_disease"]},
    }
    del record["patient"]["age"]
    _, answer = _answered(client, record)
    assert answer["interview"]["complete"] is False
    assert {f["field"] for f in answer["interview"]["record_fields"]} >= {"complaint.onset", "complaint.severity"}
    assert answer["interview"]["record_fields"][0]["could_be"] == "emergency"


def test_an_unknown_field_that_could_raise_nothing_leaves_the_interview_complete(client: FlaskClient) -> None:
    record = {
        "patient": {"age": 30, "sex": "female"},
        "complaint": {"locations": ["buttock"], "onset": "gradual", "severity": 3, "course": "stable"},
        "findings": {"present": ["pain_worse_sitting"]},
    }  # the side left out: one-sided buttock pain at 30 raises nothing
    answered, answer = _answered(client, record)
    assert {_level(client, answered, side=side) for side in ("left", "right", "both")} == {answer["urgency"]["level"]}
    assert answer["interview"]["complete"] is True
    assert answer["interview"]["record_fields"] == []
    assert answer["interview"]["asked_enough_reason"] == (
        "All the questions that matter for this kind of pain have been answered."
    )


def test_fields_are_probed_only_once_no_finding_question_is_left(client: FlaskClient) -> None:
    record = {
        "patient": {"age": 80, "sex": "male"},
        "complaint": {"locations": ["hip"]},
        "findings": {"present": ["cannot_bear_weight"], "absent": []},
    }
    answer = client.post(ASSESSMENTS, json=record).get_json()
    assert answer["questions"] and answer["interview"]["complete"] is False
    assert answer["interview"]["record_fields"] == []


def test_a_field_given_cannot_also_be_not_known(client: FlaskClient) -> None:
    record = {
        "patient": {"age": 80, "sex": "male"},
        "complaint": {"locations": ["hip"], "onset": "sudden", "severity": 4, "not_known": ["onset", "severity"]},
    }
    response = client.post(ASSESSMENTS, json=record)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "$.complaint.not_known": ["Fields given cannot also be not known: ['onset', 'severity']."]
    }


def test_an_unknown_age_and_onset_are_probed_together(client: FlaskClient) -> None:
    """Without the age the answer is the most urgent age band's; the onset's probe is too."""
    record = {
        "patient": {"sex": "male"},
        "complaint": {"locations": ["hip"], "course": "worsening"},
        "findings": {"present": ["cannot_bear_weight"]},
    }
    _, answer = _answered(client, record)
    assert answer["unrecorded"]["most_urgent"] == answer["urgency"]["level"] == "urgent"
    assert answer["interview"]["record_fields"] == [{"field": "complaint.onset", "could_be": "emergency"}]


_ORDER = ("emergency", "urgent", "routine", "self_care")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_record_fields_name_the_most_urgent_level_any_values_of_the_fields_give(kb, assessor, data) -> None:
    """Whatever values the unknown fields turn out to have, together or alone, the most urgent
    level they give is the one ``record_fields`` names first, and nothing is named when none
    raises the urgency, which stays as it is. A field whose own values raise it is named with
    at least that level."""
    record = assessor.record(data.draw(records(kb)))
    shown = assessor.assess(record)
    asked = assessor.record_fields(
        record, shown, lambda probed: [assessor.assess(probed).urgency.level], for_most_care=True
    )
    listed = {f.field: f.could_be for f in asked.interview.record_fields}
    unknown = unknown_fields(record)
    options = [(None, *assessor.record_fields.values[name]) for name in unknown]  # None: left unknown
    levels = {}
    for values in itertools.product(*options):
        probed = copy.deepcopy(record)
        probed["complaint"].update({n: v for n, v in zip(unknown, values, strict=True) if v is not None})
        levels[values] = assessor.assess(probed).urgency.level
    most = min(levels.values(), key=_ORDER.index)
    if _ORDER.index(most) < _ORDER.index(shown.urgency.level):
        assert asked.interview.record_fields[0].could_be == most
    else:
        assert not listed
    for k, name in enumerate(unknown):
        alone = [level for values, level in levels.items() if sum(v is not None for v in values) == 1 and values[k]]
        best = min(alone, key=_ORDER.index, default=shown.urgency.level)
        if _ORDER.index(best) < _ORDER.index(shown.urgency.level):
            assert _ORDER.index(listed[f"complaint.{name}"]) <= _ORDER.index(best)
    assert set(listed) <= {f"complaint.{name}" for name in FIELDS}
    assert asked.urgency == shown.urgency
    if listed:
        assert asked.interview.complete is False and asked.interview.stop_reason is None
    else:
        assert asked == shown
