"""A 422 lists the same errors in the same order in every process (clinical rule 2), and an
``OPTIONS`` answer the same methods in the same order.

marshmallow finds unknown members by a set difference, whose order follows the process's
string hash seed: two gunicorn workers answered the same bad record with differently ordered
errors, and with more than 20 problems, different ones.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.servers import ROOT

ANSWER = """
import json
from service.app import create_app
client = create_app({"TESTING": True}).test_client()
record = {
    "patient": {"age": -3, "sex": "x", **{f"extra_{i}": i for i in range(30)}},
    "complaint": {"locations": ["nowhere", "thigh", "elsewhere"]},
    "findings": {"present": [1], "absent": []},
    **{f"unknown_{i}": i for i in range(30)},
}
problem = client.post("/v1/assessments", json=record).get_json()
problem.pop("request_id")  # new in every answer
print(json.dumps(problem))
"""


def outputs_under_hash_seeds(script: str, seeds: tuple[str, ...] = ("1", "2", "3", "4")) -> set[str]:
    """What ``script`` prints in a fresh interpreter under each string hash seed."""
    return {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in seeds
    }


def test_a_422_is_the_same_whatever_the_hash_seed() -> None:
    answers = outputs_under_hash_seeds(ANSWER, ("1", "2", "3"))
    assert len(answers) == 1
    problem = json.loads(answers.pop())
    assert problem["status"] == 422
    assert "The first 20 of" in problem["detail"]  # which 20 are listed depended on the seed too


OPTIONS = """
from service.app import create_app
client = create_app({"TESTING": True}).test_client()
print([client.open(path, method="OPTIONS").headers["Allow"] for path in ("/v1/assessments", "/healthz")])
"""


def test_an_options_answer_lists_the_same_methods_in_the_same_order_whatever_the_hash_seed() -> None:
    answers = outputs_under_hash_seeds(OPTIONS)
    assert answers == {"['OPTIONS, POST', 'GET, HEAD, OPTIONS']\n"}
