"""Every worked example in service/web/examples/ is what the app really answers.

Each example's request is sent to the app and the answer compared with the recorded one,
apart from ids minted per call (``assessment_id``, card ``uuid``). Where the example is abridged,
a recorded list must be the first entries of the real one and a recorded object some of its keys.
``UPDATE_EXAMPLES=1`` (``make openapi`` sets it) records the real answers instead of comparing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.web.examples import Example, load_examples, write_example
from tests.cds_tokens import Ehr

ORIGIN = "https://cds.example.org"  # where the examples pretend the service is served
MINTED = {"assessment_id", "uuid", "request_id"}
KEEP = 2  # entries an abridged list keeps when recorded
UPDATE = os.environ.get("UPDATE_EXAMPLES") == "1"
EXAMPLES = load_examples()
README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def live(ehr: Ehr, tmp_path_factory) -> Iterator[FlaskClient]:
    clients = ehr.write_clients(tmp_path_factory.mktemp("examples") / "clients.json")
    yield create_app({"TESTING": True, "CDS_CLIENTS": str(clients), "PUBLIC_BASE_URL": ORIGIN}).test_client()


def call(live: FlaskClient, ehr: Ehr, example: Example) -> tuple[int, Any]:
    url = f"{ORIGIN}{example.path}"
    headers = ehr.header(audience=url) if example.path.startswith("/cds-services/") else {}
    answer = live.open(
        example.path,
        base_url=ORIGIN,
        method=example.method,
        query_string=example.query,
        json=example.body,
        headers=headers,
    )
    body = answer.get_json() if example.media_type.endswith("json") else answer.get_data(as_text=True)
    return answer.status_code, body


def mismatches(real: Any, recorded: Any, abridged: set[str] | None, path: str = "$") -> Iterator[str]:
    """Where ``recorded`` differs from ``real``; ``abridged=None`` allows abridging anywhere."""
    cut = abridged is None or path in abridged
    if isinstance(recorded, dict) and isinstance(real, dict):
        if not cut and recorded.keys() != real.keys():
            yield f"{path}: keys {sorted(recorded)} != {sorted(real)}"
        for key, value in recorded.items():
            if key not in real:
                yield f"{path}.{key}: not in the answer"
            elif key not in MINTED:
                yield from mismatches(real[key], value, abridged, f"{path}.{key}")
    elif isinstance(recorded, list) and isinstance(real, list):
        if len(recorded) > len(real) or (not cut and len(recorded) != len(real)):
            yield f"{path}: {len(recorded)} entries recorded, {len(real)} answered"
        for i, (a, b) in enumerate(zip(real, recorded, strict=False)):
            yield from mismatches(a, b, abridged, f"{path}[{i}]")
    elif isinstance(recorded, str) and isinstance(real, str) and cut and "\n" in recorded:
        lines = set(real.splitlines())
        yield from (f"{path}: line {line!r} not answered" for line in recorded.splitlines() if line not in lines)
    elif recorded != real:
        yield f"{path}: {recorded!r} recorded, {real!r} answered"


def abridge(real: Any, recorded: Any, abridged: set[str], path: str = "$") -> Any:
    """``real`` cut as the example says; an abridged object keeps the keys recorded before."""
    if isinstance(real, dict):
        keys = [k for k in real if k in recorded] if path in abridged and isinstance(recorded, dict) else list(real)
        before = recorded if isinstance(recorded, dict) else {}
        return {
            k: before[k] if k in MINTED and k in before else abridge(real[k], before.get(k), abridged, f"{path}.{k}")
            for k in keys
        }
    if isinstance(real, list):
        kept = real[:KEEP] if path in abridged else real
        before = recorded if isinstance(recorded, list) else []
        return [
            abridge(v, before[i] if i < len(before) else None, abridged, f"{path}[{i}]") for i, v in enumerate(kept)
        ]
    return real


def test_every_operation_has_an_example(live: FlaskClient) -> None:
    operations = {
        op["operationId"] for item in live.get("/openapi.json").get_json()["paths"].values() for op in item.values()
    }
    assert operations == set(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES.values(), ids=list(EXAMPLES))
def test_the_example_is_what_the_app_answers(live: FlaskClient, ehr: Ehr, example: Example) -> None:
    status, body = call(live, ehr, example)
    if UPDATE and isinstance(body, dict):
        recorded = abridge(body, example.response, set(example.abridged))
        write_example(Example(**{**vars(example), "status": status, "response": recorded}))
        return
    assert status == example.status
    assert not list(mismatches(body, example.response, set(example.abridged)))


def test_the_readme_quotes_the_assessment_example() -> None:
    """The README's curl request is the example's, and its (abridged) answer is the example's."""
    readme = README.read_text()
    request = re.search(r"curl -s -X POST '[^']*/v1/assessments' .*?-d '(.*?)'\n", readme, re.S)
    assert request, "README: the curl example for POST /v1/assessments is gone"
    example = EXAMPLES["createAssessment"]
    assert json.loads(request.group(1)) == example.body
    answer = re.search(r"answers with the example.*?\n```json\n(.*?)\n```", readme, re.S)
    assert answer, "README: the answer to the curl example is gone"
    assert not list(mismatches(example.response, json.loads(answer.group(1)), None))
