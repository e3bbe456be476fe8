"""docs/interview-worked-example.md runs as written: every request in it is sent to the app and
every answer shown is what the app answers (abridged: the keys and first list entries shown)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from service.app import create_app
from tests.test_examples import ORIGIN, mismatches

DOC = Path(__file__).resolve().parent.parent / "docs" / "interview-worked-example.md"
STEP = re.compile(
    r"<!-- request (?P<method>[A-Z]+) (?P<path>\S+) -->\n```json\n(?P<request>.*?)\n```.*?"
    r"<!-- response -->\n```json\n(?P<response>.*?)\n```",
    re.DOTALL,
)


def test_every_step_of_the_worked_interview_is_what_the_app_answers() -> None:
    client = create_app({"TESTING": True, "PUBLIC_BASE_URL": ORIGIN}).test_client()
    steps = list(STEP.finditer(DOC.read_text(encoding="utf-8")))
    assert len(steps) == 7  # three over REST, four over $next-question
    for step in steps:
        answer = client.open(step["path"], method=step["method"], base_url=ORIGIN, json=json.loads(step["request"]))
        assert answer.status_code == 200, answer.get_json()
        shown = json.loads(step["response"])
        assert not list(mismatches(answer.get_json(), shown, None)), (step["path"], shown)
