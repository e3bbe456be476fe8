"""The benchmark's records: the clinical scenarios, realistic and varied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SCENARIOS = Path(__file__).resolve().parent.parent / "tests" / "scenarios"


def scenario_records() -> list[dict[str, Any]]:
    return [
        scenario["record"]
        for path in sorted(SCENARIOS.glob("*.yaml"))
        for scenario in yaml.safe_load(path.read_text())["scenarios"]
    ]
