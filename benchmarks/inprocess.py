"""In-process cost of one assessment: validation, rules, ranking, serialisation.

Run with ``make bench-inprocess``. Prints the median and p99 of each stage over N runs of
a fixed, realistic set of records (the clinical scenarios), measured in this process.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import yaml
from flask import json

from service import create_app

SCENARIOS = Path(__file__).parent.parent / "tests" / "scenarios"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()

    app = create_app()
    runtime = app.extensions["cds"]
    records = [
        s["record"] for p in sorted(SCENARIOS.glob("*.yaml")) for s in yaml.safe_load(p.read_text())["scenarios"]
    ]
    stages: dict[str, list[float]] = {
        "validation": [],
        "rules+ranking": [],
        "serialisation": [],
        "total": [],
    }
    with app.app_context():
        for i in range(args.runs):
            raw = records[i % len(records)]
            t0 = time.perf_counter()
            record = runtime.request_schema.load(raw)
            t1 = time.perf_counter()
            result = runtime.assessor.assess(record)
            t2 = time.perf_counter()
            json.dumps(result)
            t3 = time.perf_counter()
            for name, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                value_ms = value * 1000
                stages[name].append(value_ms)

    print(f"# In-process assessment cost ({args.runs} runs over {len(records)} scenario records)")
    print(f"python {platform.python_version()}, {platform.machine()}, {platform.processor() or 'cpu'}")
    print("| stage | median ms | p99 ms |")
    print("|---|---|---|")
    for name, values in stages.items():
        values.sort()
        p99 = values[int(len(values) * 0.99) - 1]
        print(f"| {name} | {statistics.median(values):.3f} | {p99:.3f} |")


if __name__ == "__main__":
    main()
