"""An engine failure is a 500, never a silently smaller answer (fault injection).

durable_rules' own Python host caught exceptions raised in rule actions and carried on
with fewer rules fired: an injected fault once lowered the urgency of 58 of 300 records.
The driver calls the C engine directly and raises on any failure; these tests break the C
calls at every point of a session and check that no answer leaves the service.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from service.reasoning.durable import driver
from tests.reliability.records import varied_records

PROBLEM = "application/problem+json"


def failing_on_call(real: Callable[..., Any], n: int) -> Callable[..., Any]:
    """``real``, except that its ``n``-th call raises as the C extension does."""
    calls = 0

    def call(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == n:
            raise Exception("error 101 from the engine")  # what the C extension raises
        return real(*args)

    return call


@pytest.mark.parametrize("function", ["assert_fact", "start_action_for_state", "complete_and_start_action"])
def test_a_failing_engine_call_anywhere_in_a_session_is_a_500(client, kb, monkeypatch, caplog, function) -> None:
    real = getattr(driver.engine, function)
    answered = 0
    for i, record in enumerate(varied_records(kb, 100, seed=8)):
        monkeypatch.setattr(driver.engine, function, failing_on_call(real, 1 + i % 12))
        with caplog.at_level(logging.ERROR):
            response = client.post("/v1/assessments", json=record)
        monkeypatch.setattr(driver.engine, function, real)
        if response.status_code == 200:
            # the fault fell after the session's last call of that kind: the answer is whole
            answered += 1
            assert response.get_json() == _without_id(client.post("/v1/assessments", json=record).get_json(), response)
            continue
        assert response.status_code == 500
        assert response.mimetype == PROBLEM
        assert json.dumps(record["findings"]) not in response.get_data(as_text=True)
        assert "EngineError" in caplog.text
    assert answered < 100  # the faults did land


def _without_id(expected: dict[str, Any], response: Any) -> dict[str, Any]:
    return {**expected, "assessment_id": response.get_json()["assessment_id"]}


def test_an_unexpected_result_code_from_the_engine_is_a_500(client, monkeypatch) -> None:
    real = driver.engine.assert_fact
    monkeypatch.setattr(driver.engine, "assert_fact", lambda handle, fact: (7, real(handle, fact)[1]))
    response = client.post(
        "/v1/assessments",
        json={"patient": {"age": 40, "sex": "male"}, "complaint": {"locations": ["buttock"]}},
    )
    assert response.status_code == 500


def test_after_a_fault_the_engine_answers_correctly_again(client, assess, monkeypatch) -> None:
    record = {
        "patient": {"age": 44, "sex": "male"},
        "complaint": {"locations": ["buttock"]},
        "findings": {"present": ["saddle_anesthesia"], "absent": []},
    }
    real = driver.engine.complete_and_start_action
    monkeypatch.setattr(driver.engine, "complete_and_start_action", failing_on_call(real, 2))
    assert client.post("/v1/assessments", json=record).status_code == 500
    monkeypatch.setattr(driver.engine, "complete_and_start_action", real)
    assert client.post("/v1/assessments", json=record).get_json()["urgency"]["level"] == "emergency"
    assert assess(record)["urgency"]["level"] == "emergency"
