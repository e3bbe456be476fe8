"""The hazard log (safety/hazards.yaml) refers only to controls that exist, and misses no red flag.

A control that names a rule the knowledge base no longer has, or a test that was renamed, is a
control that is no longer there: the log must be updated with the change that removed it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from service.knowledge.model import Layer

ROOT = Path(__file__).resolve().parent.parent
LOG = yaml.safe_load((ROOT / "safety/hazards.yaml").read_text())
HAZARDS = LOG["hazards"]
SEVERITIES = ("minor", "significant", "considerable", "major", "catastrophic")
LIKELIHOODS = ("very_low", "low", "medium", "high", "very_high")
FIELDS = {"id", "hazard", "cause", "effect", "severity", "likelihood", "initial_risk", "controls"} | {
    "residual_likelihood",
    "residual_risk",
}


@pytest.fixture(scope="module")
def collected() -> set[str]:
    """Every pytest node id in the repository, whatever the default markers deselect."""
    files = sorted({test.split("::")[0] for h in HAZARDS for test in h["controls"]["tests"]})
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return {line for line in run.stdout.splitlines() if "::" in line}


def test_every_hazard_is_complete_and_its_risks_are_read_off_the_matrix() -> None:
    assert len({h["id"] for h in HAZARDS}) == len(HAZARDS)
    matrix = LOG["risk_matrix"]
    for hazard in HAZARDS:
        assert set(hazard) - {"controls"} >= FIELDS - {"controls"}, hazard["id"]
        assert hazard["severity"] in SEVERITIES and hazard["likelihood"] in LIKELIHOODS, hazard["id"]
        assert hazard["initial_risk"] == matrix[hazard["likelihood"]][hazard["severity"]], hazard["id"]
        assert hazard["residual_risk"] == matrix[hazard["residual_likelihood"]][hazard["severity"]], hazard["id"]
        assert hazard["residual_risk"] <= min(hazard["initial_risk"], 3), hazard["id"]
        assert hazard["controls"]["rules"] or hazard["controls"]["tests"], hazard["id"]


def test_every_rule_named_as_a_control_is_in_the_knowledge_base(kb) -> None:
    named = {rule for h in HAZARDS for rule in h["controls"]["rules"]}
    assert named - set(kb.rules) == set()


def test_every_test_named_as_a_control_exists(collected: set[str]) -> None:
    named = {test for h in HAZARDS for test in h["controls"]["tests"]}
    functions = {test.split("[")[0] for test in collected}  # a parametrized test named as a whole
    missing = {test for test in named if test not in collected | functions}
    assert not missing, f"renamed or removed; update safety/hazards.yaml: {sorted(missing)}"


def test_every_red_flag_and_contraindication_rule_is_a_control_of_some_hazard(kb) -> None:
    named = {rule for h in HAZARDS for rule in h["controls"]["rules"]}
    safety_rules = {r.id for r in kb.rules.values() if r.red_flag} | {r.id for r in kb.rules_in(Layer.CONTRAINDICATION)}
    assert safety_rules - named == set(), "add these rules to a hazard in safety/hazards.yaml"


def test_the_safety_case_summarises_every_hazard_as_the_log_does() -> None:
    case = (ROOT / "docs/safety-case.md").read_text()
    rows = {}
    for line in case.splitlines():
        if line.startswith("| HAZ-"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows[cells[0]] = (int(cells[2]), int(cells[3]))
    assert rows == {h["id"]: (h["initial_risk"], h["residual_risk"]) for h in HAZARDS}
