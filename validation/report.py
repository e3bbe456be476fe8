"""`make validate`: the whole service against independent clinical vignettes → VALIDATION.md.

Eleven sets, each written from clinical guidance and the source documents by a reviewer who
had not read the rules (nor the other sets), and never edited to match the answers:

- held-out (validation/heldout10.yaml): written last, by an eleventh reviewer; nobody working
  on the rules has read it. The targets are judged on this set.
- development (validation/vignettes.yaml) and the second to tenth development sets
  (validation/heldout.yaml, heldout2.yaml ... heldout9.yaml: the held-out sets of knowledge
  base 2026.11.3 to 2026.11.15): their misses were studied, and the classes of
  presentation they revealed were fixed in the knowledge base (never the single case);

Each vignette is assessed exactly as a client's record would be (validation included), and
scored the way the published symptom-checker studies score:

- acceptable urgency: the answer is one of the levels the reviewer would accept;
- safe urgency: the answer is not below the lowest acceptable level (not under-triaged);
- emergency under-triage: a case that calls for an emergency, answered below it;
- over-triage: the answer is above the highest acceptable level;
- top-3 cause: an expected cause is among the first three (cases that name one).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from flask.testing import FlaskClient

from service.app import create_app
from service.vocabulary import URGENCY_LEVELS
from service.web.components import components

HERE = Path(__file__).resolve().parent
VIGNETTES = HERE / "vignettes.yaml"
SETS = (
    ("held-out", HERE / "heldout12.yaml"),
    ("twelfth development", HERE / "heldout11.yaml"),
    ("eleventh development", HERE / "heldout10.yaml"),
    ("tenth development", HERE / "heldout9.yaml"),
    ("ninth development", HERE / "heldout8.yaml"),
    ("eighth development", HERE / "heldout7.yaml"),
    ("seventh development", HERE / "heldout6.yaml"),
    ("sixth development", HERE / "heldout5.yaml"),
    ("fifth development", HERE / "heldout4.yaml"),
    ("fourth development", HERE / "heldout3.yaml"),
    ("third development", HERE / "heldout2.yaml"),
    ("second development", HERE / "heldout.yaml"),
    ("development", VIGNETTES),
)
REPORT = HERE.parent / "VALIDATION.md"
# published anchors, on comparable vignette sets
ANCHORS = [
    ("Semigran 2015 (BMJ), symptom checkers: triage correct", "57 %"),
    ("Gilbert 2020 (BMJ Open), GPs and the best checker (Ada): safe urgency", "97 %"),
    ("Gilbert 2020 (BMJ Open), GPs: condition in the top 3", "82 %"),
]
TARGETS = {"safe": 0.97, "acceptable": 0.95, "top3": 0.90}


def _rank(level: str) -> int:
    """Higher is more urgent."""
    return len(URGENCY_LEVELS) - URGENCY_LEVELS.index(level)


@dataclass(frozen=True)
class Outcome:
    vignette: dict[str, Any]
    level: str | None  # None: the record was refused
    causes: tuple[str, ...]

    @property
    def acceptable(self) -> bool:
        return self.level in self.vignette["acceptable_urgency"]

    @property
    def safe(self) -> bool:
        lowest = min(self.vignette["acceptable_urgency"], key=_rank)
        return self.level is not None and _rank(self.level) >= _rank(lowest)

    @property
    def over_triaged(self) -> bool:
        highest = max(self.vignette["acceptable_urgency"], key=_rank)
        return self.level is not None and _rank(self.level) > _rank(highest)

    @property
    def emergency_missed(self) -> bool:
        return self.vignette["acceptable_urgency"] == ["emergency"] and self.level != "emergency"

    @property
    def top3(self) -> bool | None:
        expected = self.vignette["expected_causes"]
        return bool(set(expected) & set(self.causes[:3])) if expected else None


def assess_all(client: FlaskClient, vignettes: list[dict[str, Any]]) -> list[Outcome]:
    """Each vignette's record sent to ``POST /v1/assessments``, as a client would send it."""
    outcomes = []
    for vignette in vignettes:
        response = client.post("/v1/assessments", json=vignette["record"])
        if response.status_code == 422:
            outcomes.append(Outcome(vignette, None, ()))
            continue
        if response.status_code != 200:
            raise RuntimeError(f"{vignette['id']}: answered {response.status_code}")
        answer = response.get_json()
        outcomes.append(Outcome(vignette, answer["urgency"]["level"], tuple(c["id"] for c in answer["causes"])))
    return outcomes


def figures(outcomes: list[Outcome]) -> dict[str, Any]:
    named = [o for o in outcomes if o.top3 is not None]
    n = len(outcomes)
    return {
        "n": n,
        "acceptable": sum(o.acceptable for o in outcomes) / n,
        "safe": sum(o.safe for o in outcomes) / n,
        "emergency_missed": sum(o.emergency_missed for o in outcomes),
        "over": sum(o.over_triaged for o in outcomes) / n,
        "top3": sum(bool(o.top3) for o in named) / len(named) if named else None,
        "refused": sum(o.level is None for o in outcomes),
    }


def _pct(value: float | None) -> str:
    return "none" if value is None else f"{value:.1%}"


def _overall(overall: dict[str, Any]) -> list[str]:
    return [
        "| measure | result | target |",
        "|---|---|---|",
        f"| safe urgency (not under-triaged) | {_pct(overall['safe'])} | ≥ {TARGETS['safe']:.0%} |",
        f"| urgency acceptable | {_pct(overall['acceptable'])} | ≥ {TARGETS['acceptable']:.0%} |",
        f"| emergencies answered below emergency | {overall['emergency_missed']} | 0 |",
        f"| over-triage | {_pct(overall['over'])} | as low as safety allows |",
        f"| expected cause in the top 3 | {_pct(overall['top3'])} | ≥ {TARGETS['top3']:.0%} |",
        f"| records refused (422) | {overall['refused']} | 0 |",
    ]


def _by_category(outcomes: list[Outcome]) -> list[str]:
    by_category: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_category[outcome.vignette["category"]].append(outcome)
    lines = ["| category | n | safe | acceptable | over-triage | top 3 |", "|---|---|---|---|---|---|"]
    for category in sorted(by_category):
        f = figures(by_category[category])
        lines.append(
            f"| {category} | {f['n']} | {_pct(f['safe'])} | {_pct(f['acceptable'])} | {_pct(f['over'])} "
            f"| {_pct(f['top3'])} |"
        )
    return lines


def _misses(outcomes: list[Outcome]) -> list[str]:
    lines = [
        "| vignette | category | answered | acceptable | top 3 causes | expected causes |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {o.vignette['id']} | {o.vignette['category']} | {o.level or 'refused (422)'} "
        f"| {', '.join(o.vignette['acceptable_urgency'])} | {', '.join(o.causes[:3]) or 'none'} "
        f"| {', '.join(o.vignette['expected_causes']) or 'none'} |"
        for o in outcomes
        if not o.acceptable or o.top3 is False
    ]
    return lines


def render(results: dict[str, list[Outcome]], kb_version: str) -> str:
    """The report: per set, the overall figures, by category, and each case not answered well."""
    lines = [
        "# Clinical validation report",
        "",
        f"Knowledge base {kb_version}; generated by `make validate` on {dt.date.today().isoformat()}; "
        "method in validation/README.md.",
        "Every vignette was written from guidance by a reviewer who had not read the rules, and none is",
        "edited to match the answers. Scenario tests pin single rules; this measures the whole service.",
        "The development sets' misses were studied and the classes they revealed fixed in the rules;",
        "nobody working on the rules has read the held-out set, so the targets are judged on it.",
        "",
        "Published anchors on comparable vignette sets:",
        "",
        *[f"- {what}: {value}" for what, value in ANCHORS],
    ]
    for name, outcomes in results.items():
        lines += [
            "",
            f"## {name.capitalize()} set ({len(outcomes)} vignettes)",
            "",
            *_overall(figures(outcomes)),
            "",
            "### By category",
            "",
            *_by_category(outcomes),
            "",
            "### Cases not answered acceptably",
            "",
            "Each is a finding for clinical review, not a case to edit.",
            "",
            *_misses(outcomes),
        ]
    return "\n".join(lines) + "\n"


def load_vignettes(path: Path = VIGNETTES) -> list[dict[str, Any]]:
    vignettes: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["vignettes"]
    return vignettes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args()
    app = create_app()
    client = app.test_client()
    results = {name: assess_all(client, load_vignettes(path)) for name, path in SETS}
    args.output.write_text(render(results, components(app).assessor.kb.version), encoding="utf-8")
    for name, outcomes in results.items():
        f = figures(outcomes)
        print(
            f"{name}: {f['n']} vignettes, safe {_pct(f['safe'])}, acceptable {_pct(f['acceptable'])}, "
            f"emergencies missed {f['emergency_missed']}, over-triage {_pct(f['over'])}, "
            f"top 3 {_pct(f['top3'])}, refused {f['refused']}"
        )
    print(f"-> {args.output.name}")


if __name__ == "__main__":
    main()
