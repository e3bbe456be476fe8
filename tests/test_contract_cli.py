"""The contract test an integrator runs: ``st run <url>/openapi.json --checks all`` passes.

A real gunicorn on 127.0.0.1, the command exactly as the README gives it, from the repository
root (where schemathesis.toml loads the hooks), with a bounded number of examples.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.servers import BIN, ROOT, gunicorn

EXAMPLES_PER_OPERATION = "15"


def test_st_run_from_the_repository_root_passes(tmp_path: Path) -> None:
    with gunicorn(tmp_path) as service:
        run = subprocess.run(
            [
                str(BIN / "st"),
                "run",
                f"http://127.0.0.1:{service.port}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                EXAMPLES_PER_OPERATION,
                "--seed",
                "1",
            ],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=400,
        )
    assert run.returncode == 0, run.stdout[-4000:]
    assert "schema-valid request rejected" not in run.stdout
