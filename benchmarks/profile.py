"""`make profile`: where one assessment spends its time, as cProfile sees it.

Writes benchmarks/PROFILE.md: the functions with the most own time over 2,000 assessments
of different varied records, so the cost of durable-rules' machinery can be read directly.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from pathlib import Path

from service.app import create_app
from service.web.components import components
from tests.reliability.records import varied_records

RUNS = 2000


def main() -> None:
    assessor = components(create_app()).assessor
    records = [assessor.record(r) for r in varied_records(assessor.kb, RUNS)]
    for record in records:  # warm-up: the ruleset is built, caches are hot
        assessor.assess(record)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(RUNS):
        assessor.assess(records[i % len(records)])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(15)
    text = out.getvalue().strip()
    report = [
        "# Profile of one assessment",
        "",
        f"cProfile over {RUNS} assessments of different records (`make profile`); own time first.",
        "Rows named `durable_rules_engine.*` are the C rule engine; `driver.py` is our code around it.",
        "",
        "```",
        text,
        "```",
    ]
    Path(__file__).with_name("PROFILE.md").write_text("\n".join(report) + "\n")
    print(text)


if __name__ == "__main__":
    main()
