"""`make bench`: the service against two floors, same server config, same load, one run.

Starts each app under deploy/gunicorn.conf.py on 127.0.0.1 (2 workers, one app at a time
so they do not share the 2 cores) and drives it with wrk at 1, 16 and 64 connections over
tens of thousands of different valid records (no two requests of a level repeat a record,
so nothing could be answered from a cache). The floors: a bare Flask app (JSON in, ~1 KB
JSON out) and one that also validates the record. Then it measures the in-process cost of
one assessment by stage, and writes benchmarks/RESULTS.md. Figures are ratios against the
floors measured in the same run; the machine is noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flask import jsonify

from service.app import create_app
from service.web.components import components
from service.web.documents import assessment_document
from tests.reliability.records import varied_records
from tests.servers import gunicorn

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONNECTIONS = (1, 16, 64)
APPS = (
    ("bare floor", "benchmarks.echo_app:bare"),
    ("validating floor", "benchmarks.echo_app:validating"),
    ("service", "service.wsgi:app"),
)
RECORDS = 60_000  # more than one level's requests: every request is a different record
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(port: int, connections: int, seconds: int, bodies: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(connections, 2)),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(ROOT / "benchmarks/post.lua"),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BODIES": str(bodies)},
        timeout=seconds + 60,
    ).stdout
    latency = {p: float(v) * UNIT[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s) *$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": int(errors.group(1)) if errors else 0,
    }


def in_process(runs: int) -> dict[str, tuple[float, float]]:
    """Median and p99 milliseconds of each stage, over ``runs`` different records."""
    app = create_app()
    assessor, english = components(app).assessor, components(app).languages.english
    records = varied_records(assessor.kb, runs, seed=7)
    stages: dict[str, list[float]] = {"validation": [], "engine": [], "assessment": [], "serialisation": []}
    with app.app_context():
        for raw in records:
            t0 = time.perf_counter()
            record = assessor.record(raw)
            t1 = time.perf_counter()
            assessor.fire(record)
            t2 = time.perf_counter()
            assessment = assessor.assess(record)  # runs the engine again, subtracted below
            t3 = time.perf_counter()
            jsonify(assessment_document(assessment, texts=english, explain=False))  # what the service sends
            t4 = time.perf_counter()
            stages["validation"].append(t1 - t0)
            stages["engine"].append(t2 - t1)
            stages["assessment"].append((t3 - t2) - (t2 - t1))
            stages["serialisation"].append(t4 - t3)
    stages["total"] = [v + a + e + s for v, e, a, s in zip(*stages.values(), strict=True)]
    return {name: (statistics.median(v) * 1000, sorted(v)[int(len(v) * 0.99) - 1] * 1000) for name, v in stages.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per level")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5000, help="in-process runs (each a different record)")
    args = parser.parse_args()

    kb = components(create_app()).assessor.kb
    bodies = Path(tempfile.mkstemp(prefix="cds-bench-", suffix=".jsonl")[1])
    bodies.write_text("\n".join(json.dumps(r) for r in varied_records(kb, RECORDS)) + "\n")
    results: dict[str, dict[int, dict[str, float]]] = {}
    for name, module in APPS:
        workdir = Path(tempfile.mkdtemp(prefix="cds-bench-"))
        # The production log level: the service's JSON request log is part of its cost. No
        # recycling: at the bare floor's rate a worker reached max_requests within one level, so
        # the floors were measured across restarts and the service (a third as fast) was not.
        with gunicorn(workdir, module, WORKERS=str(args.workers), MAX_REQUESTS="0") as service:
            wrk(service.port, 16, 2, bodies)  # warm-up: engines built
            results[name] = {c: wrk(service.port, c, args.seconds, bodies) for c in CONNECTIONS}
            print(name, results[name], flush=True)
    stages = in_process(args.runs)
    bodies.unlink()

    machine = (
        f"{platform.node() or 'this machine'}: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    lines = [
        "# Benchmark results",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `make bench` on {machine}.",
        f"gunicorn with deploy/gunicorn.conf.py, {args.workers} workers (service.worker.Worker), production log level, "
        "no worker recycling (`MAX_REQUESTS=0`); "
        f"wrk {args.seconds} s per level, {RECORDS:,} different valid records in turn. "
        "The load generator shares the cores with the server.",
        "",
        "## HTTP: service vs floors",
        "",
        "| connections | bare floor req/s | validating floor req/s | service req/s | service/bare "
        "| service/validating | bare p99 ms | service p50 ms | service p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in CONNECTIONS:
        bare, checked, ours = (results[name][c] for name, _ in APPS)
        cells = [
            c,
            f"{bare['rps']:.0f}",
            f"{checked['rps']:.0f}",
            f"{ours['rps']:.0f}",
            f"{ours['rps'] / bare['rps']:.0%}",
            f"{ours['rps'] / checked['rps']:.0%}",
            f"{bare['p99']:.2f}",
            f"{ours['p50']:.2f}",
            f"{ours['p99']:.2f}",
            int(bare["errors"] + checked["errors"] + ours["errors"]),
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    lines += [
        "",
        f"## In-process, one assessment ({args.runs} different records)",
        "",
        "| stage | median ms | p99 ms |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {median:.3f} | {p99:.3f} |" for name, (median, p99) in stages.items()]
    lines += [
        "",
        "Targets: service >= 50 % of the bare floor at 2 workers; p99 <= 20 ms at 16 connections;",
        "in-process median <= 0.4 ms. Worker RSS over 100,000 assessments: `make test-reliability`.",
    ]
    (ROOT / "benchmarks" / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
