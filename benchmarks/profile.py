"""`make profile`: where one assessment spends its time, as cProfile sees it.

Writes benchmarks/PROFILE.md: the functions with the most own time over 2,000 assessments
of the scenario records, so the cost of durable-rules' machinery can be read directly.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from pathlib import Path

from benchmarks.records import scenario_records
from service import create_app

RUNS = 2000


def main() -> None:
    runtime = create_app().extensions["cds"]
    records = [runtime.request_schema.load(r) for r in scenario_records()]
    for record in records:  # warm-up: the Host is built, caches are hot
        runtime.assessor.assess(record)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(RUNS):
        runtime.assessor.assess(records[i % len(records)])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(15)
    text = out.getvalue().strip()
    report = [
        "# Profile of one assessment",
        "",
        f"cProfile over {RUNS} assessments of the scenario records (`make profile`); own time first.",
        "Rows from `engine.py` other than `service/engine.py`, and `durable_rules_engine.*`, are durable-rules.",
        "",
        "```",
        text,
        "```",
    ]
    Path(__file__).with_name("PROFILE.md").write_text("\n".join(report) + "\n")
    print(text)


if __name__ == "__main__":
    main()
