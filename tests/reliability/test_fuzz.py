"""Fuzzing the assessment endpoint: no input may produce a 5xx.

schemathesis with every check and 1,000 generated cases per operation, plus hypothesis
JSON of arbitrary shape (and of nearly the right shape) posted to /v1/assessments.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import create_app
from service import vocabulary as vocab

pytestmark = pytest.mark.reliability
schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app({"TESTING": True}))
FUZZ = settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


@schema.parametrize()
@FUZZ
def test_every_operation_conforms_over_1000_cases(case) -> None:
    case.call_and_validate()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
words = st.sampled_from(
    [
        "patient",
        "complaint",
        "findings",
        "present",
        "absent",
        "age",
        "sex",
        "pregnancy",
        "gestational_week",
        "locations",
        "side",
        "onset",
        "severity",
        "course",
        "duration_days",
        *vocab.LOCATIONS,
        *vocab.SEXES,
        "fever",
        "saddle_anesthesia",
    ]
)
near_records = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.floats() | words,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(words, children, max_size=6),
    max_leaves=40,
)


@FUZZ
@given(body=st.one_of(json_values, near_records))
def test_arbitrary_json_never_causes_a_server_error(client, body) -> None:
    text = json.dumps(body)  # NaN and infinity included: Python writes them, Flask reads them
    for query in ("", "?explain=true"):
        response = client.post(f"/v1/assessments{query}", data=text, content_type="application/json")
        assert response.status_code < 500, text
        assert response.status_code in (200, 400, 413, 422)
