"""The README's worked example runs as written: token script, curl, a real gunicorn on loopback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.servers import ROOT, free_port, gunicorn

ISS = "https://ehr.example.org"


@pytest.mark.gateway
def test_discovery_a_signed_patient_view_and_an_order_sign_call(tmp_path) -> None:
    key, clients = tmp_path / "ehr-key.pem", tmp_path / "clients.json"
    script = ROOT / "scripts" / "cds_token.py"
    subprocess.run(
        [sys.executable, script, "keys", "--iss", ISS, "--key", key, "--clients", clients], check=True, timeout=30
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with gunicorn(tmp_path, port=port, PUBLIC_BASE_URL=base, CDS_CLIENTS=str(clients), WORKERS="1"):
        env = {"BASE": base, "ISS": ISS, "KEY": str(key), "PYTHON": sys.executable, "PATH": "/usr/bin:/bin"}
        run = subprocess.run(
            ["sh", ROOT / "scripts" / "ehr_example.sh"],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stderr
    sections = dict(part.split("\n", 1) for part in run.stdout.split("== ")[1:])
    discovery, triage, order_sign = (json.loads(sections[name]) for name in ("discovery", "patient-view", "order-sign"))
    assert [s["hook"] for s in discovery["services"]] == ["patient-view", "order-sign"]
    summary = triage["cards"][0]
    assert summary["indicator"] == "warning" and summary["extension"]["urgency"] == "urgent"  # fever in pregnancy
    (card,) = order_sign["cards"]
    assert card["indicator"] == "critical" and card["extension"]["order"] == "MedicationRequest/draft-ibuprofen"
