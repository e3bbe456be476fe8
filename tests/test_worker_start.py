"""A process's first assessment must not kill it (durable_rules 2.0.28 first-session abort).

A new durable_rules state node leaves its message buffers uninitialised, and deleting a
session that fired no rule then frees garbage: ``free(): invalid pointer``, exit 134. A
record that fires nothing is ordinary (a telehealth intake before any answer), and every
new gunicorn worker meets it first. These tests start real processes, because the pytest
process's engine has long been primed by earlier tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from service.knowledge.loader import load_knowledge_base
from tests.reference import fired_rules
from tests.servers import ROOT, gunicorn

# the record of the bug report (an intake before any answer), and one that fires no rule at all
# in the quiet knowledge base below
REPORTED_RECORD = {
    "patient": {"age": 40, "sex": "male"},
    "complaint": {"locations": ["thigh"], "side": "unknown", "onset": "unknown", "course": "unknown"},
    "findings": {"present": [], "absent": []},
}
QUIET_RECORD = {
    "patient": {"age": 46, "sex": "male"},
    # an unknown course is "not settled", a stable one "not improving" and an unknown duration
    # "recent": an improving course and a duration are given
    "complaint": {"locations": ["low_back"], "course": "improving", "duration_days": 85},
    "findings": {"present": [], "absent": []},
}

FIRST_REQUEST = """
import json, sys
from service.app import create_app
client = create_app({"TESTING": True}).test_client()
response = client.post("/v1/assessments", json=json.loads(sys.argv[1]))
print(response.status_code, response.get_json()["urgency"]["level"])
"""


def quiet_rules(directory: Path) -> Path:
    """A copy of the knowledge base in which QUIET_RECORD fires nothing.

    Since knowledge base 2026.11.11 every age has a context rule (from 45, CTX-AGE-45-PLUS), so
    no valid record of the shipped rules reaches a session without an action. The engine must
    survive one all the same (another knowledge base, a stock durable_rules build): this copy
    starts that rule at 50 again, which leaves a man of 45 to 49 with nothing to fire (and moves
    the low back's location rule to the thigh and the unknown onset's rule off, see below)."""
    copy = directory / "rules"
    shutil.copytree(ROOT / "rules", copy)
    derived = copy / "derived.yaml"
    rule = "when: {patient: {age: {min: 45}}}\n    then: {derive: age_45_plus}"
    assert rule in derived.read_text(), "CTX-AGE-45-PLUS changed: find another way to a quiet record"
    text = derived.read_text().replace(rule, rule.replace("min: 45", "min: 50"))
    # since 2026.11.17 every location fires a context rule too (CTX-LOCATION-LOW-BACK): in the
    # copy that rule reads the thigh, so pain in the low back alone fires nothing
    location = "when: {complaint: {locations: [low_back]}}\n    then: {derive: location_low_back}"
    assert location in text, "CTX-LOCATION-LOW-BACK changed: find another way to a quiet record"
    text = text.replace(location, location.replace("[low_back]", "[thigh]"))
    # and every onset fires one too (CTX-ONSET-NOT-SUDDEN reads an unknown onset): in the copy
    # it reads a gradual one only, so the record's unknown onset fires nothing
    onset = "when: {complaint: {onset: [gradual, unknown]}}\n    then: {derive: onset_not_sudden}"
    assert onset in text, "CTX-ONSET-NOT-SUDDEN changed: find another way to a quiet record"
    derived.write_text(text.replace(onset, onset.replace("[gradual, unknown]", "[gradual]")))
    return copy


@pytest.fixture
def quiet(tmp_path: Path) -> Path:
    return quiet_rules(tmp_path)


def test_the_quiet_record_fires_no_rule(quiet: Path, assessor) -> None:
    """The premise of the tests below: a session that fires nothing (else they prove nothing).

    If the knowledge base grows a rule this record fires, pick another that fires none."""
    assert fired_rules(load_knowledge_base(quiet), assessor.record(QUIET_RECORD)) == set()


@pytest.mark.parametrize("record", [QUIET_RECORD, REPORTED_RECORD], ids=["quiet", "reported"])
def test_first_assessment_of_a_fresh_process_answers(record, quiet: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST, json.dumps(record)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RULES_DIR": str(quiet)},
    )
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert result.stdout.split()[0] == "200"


@pytest.mark.gateway
def test_first_assessment_of_a_fresh_gunicorn_worker_answers(tmp_path: Path) -> None:
    with gunicorn(tmp_path, WORKERS="1", RULES_DIR=str(quiet_rules(tmp_path))) as service:
        request = urllib.request.Request(
            f"http://127.0.0.1:{service.port}/v1/assessments",
            data=json.dumps(QUIET_RECORD).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            assert json.load(response)["urgency"]["level"] == "self_care"
        assert "Worker (pid" not in service.log.read_text()  # no worker died and was replaced
