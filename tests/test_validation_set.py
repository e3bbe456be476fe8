"""The independent vignette set is well formed, and `make validate` scores it as documented."""

from __future__ import annotations

from service.vocabulary import URGENCY_LEVELS
from validation.report import SETS, Outcome, figures, load_vignettes, render

VIGNETTES = [v for _, path in SETS for v in load_vignettes(path)]


def test_vignettes_are_well_formed(kb) -> None:
    ids = [v["id"] for v in VIGNETTES]
    assert len(ids) == len(set(ids)) >= 150
    assert len(load_vignettes(SETS[0][1])) >= 100  # the held-out set
    for vignette in VIGNETTES:
        acceptable = vignette["acceptable_urgency"]
        positions = sorted(URGENCY_LEVELS.index(level) for level in acceptable)
        assert positions == list(range(positions[0], positions[-1] + 1)), vignette["id"]  # contiguous
        assert vignette["ideal_urgency"] in acceptable, vignette["id"]
        assert set(vignette["expected_causes"]) <= set(kb.causes), vignette["id"]


def test_about_half_the_vignettes_are_mild() -> None:
    mild = [v for v in VIGNETTES if v["ideal_urgency"] in ("self_care", "routine")]
    assert 0.4 <= len(mild) / len(VIGNETTES) <= 0.65


def _vignette(acceptable: list[str], expected: list[str]) -> dict:
    return {"id": "T", "category": "t", "acceptable_urgency": acceptable, "expected_causes": expected}


def test_scoring_counts_under_and_over_triage_and_missed_emergencies() -> None:
    outcomes = [
        Outcome(_vignette(["emergency"], ["a"]), "urgent", ("a",)),  # under-triaged emergency
        Outcome(_vignette(["self_care", "routine"], ["b"]), "urgent", ("c", "d", "e", "b")),  # over, b not in top 3
        Outcome(_vignette(["routine", "urgent"], []), "urgent", ()),  # fine, no cause expected
        Outcome(_vignette(["urgent"], ["a"]), None, ()),  # refused record
    ]
    f = figures(outcomes)
    assert (f["safe"], f["acceptable"], f["over"]) == (0.5, 0.25, 0.25)
    assert f["emergency_missed"] == 1
    assert f["refused"] == 1
    assert f["top3"] == 1 / 3
    report = render({"held-out": outcomes}, "test")
    assert "| emergencies answered below emergency | 1 | 0 |" in report


def test_every_vignette_record_is_a_valid_request(assessor) -> None:
    for vignette in VIGNETTES:
        assessor.record(vignette["record"])  # raises InvalidInputError, naming the path
