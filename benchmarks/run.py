"""`make bench`: the service against its echo floor, same server config, same load, one run.

Starts both apps under deploy/gunicorn.conf.py on 127.0.0.1 (2 workers each, one at a
time so they do not share the 2 cores), drives each with wrk at 1, 16 and 64 connections,
measures the in-process cost of one assessment by stage, and writes benchmarks/RESULTS.md.
Figures are ratios against the floor measured in the same run; the machine is noisy.
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

from flask import json as flask_json

from benchmarks.records import scenario_records
from service import create_app
from tests.servers import gunicorn

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONNECTIONS = (1, 16, 64)
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
    latency = {p: float(v) * UNIT[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": int(errors.group(1)) if errors else 0,
    }


def in_process(runs: int) -> dict[str, tuple[float, float]]:
    app = create_app()
    runtime = app.extensions["cds"]
    records = scenario_records()
    stages: dict[str, list[float]] = {
        "validation": [],
        "engine": [],
        "ranking and assembly": [],
        "serialisation": [],
        "total": [],
    }
    with app.app_context():
        for i in range(runs):
            raw = records[i % len(records)]
            t0 = time.perf_counter()
            record = runtime.request_schema.load(raw)
            t1 = time.perf_counter()
            runtime.assessor.fire(record)
            t2 = time.perf_counter()
            result = runtime.assessor.assess(record)  # runs the engine again, subtracted below
            t3 = time.perf_counter()
            flask_json.dumps(result)
            t4 = time.perf_counter()
            engine, assess = t2 - t1, t3 - t2
            for name, value in (
                ("validation", t1 - t0),
                ("engine", engine),
                ("ranking and assembly", assess - engine),
                ("serialisation", t4 - t3),
                ("total", (t1 - t0) + assess + (t4 - t3)),
            ):
                stages[name].append(value * 1000)
    return {name: (statistics.median(v), sorted(v)[int(len(v) * 0.99) - 1]) for name, v in stages.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per level")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2000, help="in-process runs")
    args = parser.parse_args()

    bodies = Path(tempfile.mkstemp(prefix="cds-bench-", suffix=".jsonl")[1])
    bodies.write_text("\n".join(json.dumps(r) for r in scenario_records()) + "\n")
    results: dict[str, dict[int, dict[str, float]]] = {}
    for name, module in (("floor", "benchmarks.echo_app:app"), ("service", "service.wsgi:app")):
        workdir = Path(tempfile.mkdtemp(prefix="cds-bench-"))
        with gunicorn(workdir, module, WORKERS=str(args.workers), LOG_LEVEL="WARNING") as service:
            port = service.port
            wrk(port, 16, 2, bodies)  # warm-up: engines built, caches hot
            results[name] = {c: wrk(port, c, args.seconds, bodies) for c in CONNECTIONS}
            print(name, results[name], flush=True)
    stages = in_process(args.runs)

    machine = (
        f"{platform.node() or 'this machine'}: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    lines = [
        "# Benchmark results",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `make bench` on {machine}.",
        f"gunicorn with deploy/gunicorn.conf.py, {args.workers} sync workers; wrk {args.seconds} s "
        f"per level over the {len(scenario_records())} scenario records. The load generator "
        "shares the cores with the server.",
        "",
        "## HTTP: service vs echo floor (same parsing and validation, no rules)",
        "",
        "| connections | floor req/s | service req/s | service/floor "
        "| floor p50 ms | service p50 ms | floor p99 ms | service p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in CONNECTIONS:
        f, s = results["floor"][c], results["service"][c]
        cells = [
            c,
            f"{f['rps']:.0f}",
            f"{s['rps']:.0f}",
            f"{s['rps'] / f['rps']:.0%}",
            *(f"{x:.2f}" for x in (f["p50"], s["p50"], f["p99"], s["p99"])),
            int(f["errors"] + s["errors"]),
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    lines += [
        "",
        f"## In-process, one assessment ({args.runs} runs)",
        "",
        "| stage | median ms | p99 ms |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {median:.3f} | {p99:.3f} |" for name, (median, p99) in stages.items()]
    lines += [
        "",
        "Targets: throughput >= 60 % of the floor at 2 workers; p99 <= 20 ms at 16 connections;",
        "in-process median <= 2 ms. Worker RSS over 100,000 assessments: `make test-reliability`.",
    ]
    (ROOT / "benchmarks" / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    bodies.unlink()


if __name__ == "__main__":
    main()
