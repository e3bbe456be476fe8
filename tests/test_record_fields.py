"""An onset, severity, course or side left out is read by the rules as the harmless value; the
interview must then ask it while a value could raise the urgency, without raising the urgency
shown (service/reasoning/record_fields.py; attack round 6, finding 4)."""

from __future__ import annotations

import copy
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
def test_record_fields_name_exactly_the_fields_whose_values_raise_the_urgency(kb, assessor, data) -> None:
    """A field is listed with the most urgent level one of its values gives, and only if that is
    above the urgency shown, which stays as it is."""
    record = assessor.record(data.draw(records(kb)))
    shown = assessor.assess(record)
    asked = assessor.record_fields(
        record, shown, lambda probed: [assessor.assess(probed).urgency.level], for_most_care=True
    )
    listed = {f.field: f.could_be for f in asked.interview.record_fields}
    for name in unknown_fields(record):
        values = assessor.record_fields.values[name]
        levels = []
        for value in values:
            probed = copy.deepcopy(record)
            probed["complaint"][name] = value
            levels.append(assessor.assess(probed).urgency.level)
        most = min(levels, key=_ORDER.index, default=shown.urgency.level)
        raises = _ORDER.index(most) < _ORDER.index(shown.urgency.level)
        assert listed.get(f"complaint.{name}") == (most if raises else None)
    assert set(listed) <= {f"complaint.{name}" for name in FIELDS}
    assert asked.urgency == shown.urgency
    if listed:
        assert asked.interview.complete is False and asked.interview.stop_reason is None
    else:
        assert asked == shown
