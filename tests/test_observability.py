"""Request ids, JSON request logs without patient data, metrics, trusted proxies, settings."""

from __future__ import annotations

import io
import json
import logging
import random
import re
import string
import subprocess
import sys
import time

import pytest

from service import metrics
from service.app import create_app
from service.logs import REQUESTS, JsonFormatter, RequestLog
from service.settings import Settings, SettingsError
from tests.conftest import make_record

MARKER_AGE = 87


def request_logs(caplog) -> list[dict]:
    return [r.fields for r in caplog.records if r.name == "service.requests"]


def test_a_valid_request_id_is_echoed_and_logged(client, caplog) -> None:
    with caplog.at_level(logging.INFO):
        response = client.post("/v1/assessments", json=make_record(), headers={"X-Request-ID": "gw-42.a:b"})
    assert response.headers["X-Request-ID"] == "gw-42.a:b"
    assert request_logs(caplog)[-1]["request_id"] == "gw-42.a:b"


@pytest.mark.parametrize("offered", ["", "has space", "x" * 129, "semi;colon", "tab\there"])
def test_an_invalid_request_id_is_replaced(client, offered) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": offered})
    assert response.headers["X-Request-ID"] != offered
    assert len(response.headers["X-Request-ID"]) == 32


def test_problem_bodies_carry_the_request_id(client) -> None:
    response = client.post(
        "/v1/assessments",
        data="{",
        content_type="application/json",
        headers={"X-Request-ID": "req-7"},
    )
    assert response.get_json(force=True)["request_id"] == "req-7"


def test_one_log_line_per_request_with_urgency_and_no_record(client, caplog) -> None:
    record = make_record(patient={"age": MARKER_AGE}, findings={"present": ["saddle_anesthesia", "fever"]})
    with caplog.at_level(logging.INFO):
        client.post("/v1/assessments?explain=true", json=record)
    (entry,) = request_logs(caplog)
    assert entry["route"] == "/v1/assessments" and entry["status"] == 200
    assert entry["urgency"] == "emergency"
    assert set(entry) == {
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "client",
        "urgency",
    }
    line = JsonFormatter().format(caplog.records[-1])
    assert json.loads(line)["urgency"] == "emergency"
    for secret in ("saddle", "fever", "female", '"age"'):
        assert secret not in caplog.text and secret not in line
    assert MARKER_AGE not in entry.values()


def test_unknown_routes_are_logged_by_template_not_by_path(client, caplog) -> None:
    with caplog.at_level(logging.INFO):
        client.get("/v1/patients/alice-smith")
    assert request_logs(caplog)[-1]["route"] == "other"
    assert "alice" not in caplog.text


def test_metrics_count_requests_assessments_and_engine_time(client) -> None:
    client.post("/v1/assessments", json=make_record(findings={"present": ["fever"]}))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'cds_http_requests_total{method="POST",route="/v1/assessments",status="200"}' in text
    assert 'cds_assessments_total{urgency="urgent"}' in text
    assert "cds_rule_engine_seconds_count" in text
    assert "cds_http_request_duration_seconds_bucket" in text
    assert "cds_knowledge_base_info{" in text


def test_readiness_probes_do_not_count_as_assessments_in_the_engine_time(client) -> None:
    """The readiness self-test runs the engine; the histogram is per assessment."""

    def engine_runs() -> float:
        (count,) = [s.value for s in metrics.ENGINE_TIME.collect()[0].samples if s.name.endswith("_count")]
        return count

    before = engine_runs()
    assert client.get("/readyz").status_code == 200
    assert engine_runs() == before
    client.post("/v1/assessments", json=make_record())
    assert engine_runs() == before + 1


def test_forwarded_for_is_believed_only_through_trusted_hops(caplog) -> None:
    headers = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7"}
    for hops, expected in ((0, "127.0.0.1"), (1, "198.51.100.7"), (2, "203.0.113.9")):
        client = create_app({"TESTING": True, "TRUSTED_PROXIES": hops}).test_client()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            client.get("/healthz", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert request_logs(caplog)[-1]["client"] == expected


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env({"PORT": "9090", "WORKERS": "3", "LOG_LEVEL": "debug", "TRUSTED_PROXIES": "1"})
    assert (settings.port, settings.workers, settings.log_level, settings.trusted_proxies) == (
        9090,
        3,
        "DEBUG",
        1,
    )
    assert Settings.from_env({}).port == 8080


def test_integration_settings_are_normalised() -> None:
    settings = Settings.from_env(
        {
            "PUBLIC_BASE_URL": "https://cds.hospital.org/",
            "CORS_ORIGINS": "https://a.example.org, https://b.example.org/",
            "REPLAY_STORE": "redis://127.0.0.1:6379/0",
        }
    )
    assert settings.public_base_url == "https://cds.hospital.org"
    assert settings.cors_origins == ("https://a.example.org", "https://b.example.org")
    assert settings.replay_store == "redis://127.0.0.1:6379/0"
    assert Settings.from_env({}).cors_origins == ()


@pytest.mark.parametrize(
    "env",
    [
        {"PORT": "0"},
        {"HOST": "a b"},
        {"RULES_DIR": "/nonexistent"},
        {"MAX_BODY_BYTES": "1e5"},
        {"PUBLIC_BASE_URL": "cds.hospital.org"},
        {"PUBLIC_BASE_URL": "https://cds.hospital.org/?x=1"},
        {"CORS_ORIGINS": "https://app.example.org/path"},
        {"REPLAY_STORE": "memcached://127.0.0.1"},
    ],
)
def test_bad_settings_name_the_variable(env) -> None:
    with pytest.raises(SettingsError, match=next(iter(env))):
        Settings.from_env(env)


def test_max_body_bytes_sets_the_413_limit(monkeypatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    client = create_app({"TESTING": True}).test_client()
    record = make_record()
    record["padding"] = "x" * 3000
    assert client.post("/v1/assessments", json=record).status_code == 413


def _request_series(client) -> list[str]:
    text = client.get("/metrics").get_data(as_text=True)
    return re.findall(r"^cds_http_requests_total\{(.*)\} ", text, re.M)


def test_made_up_methods_and_paths_do_not_mint_metric_series(app, client) -> None:
    before = set(_request_series(client))
    rng = random.Random(300)
    for i in range(300):
        method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 12)))
        client.open(f"/made/up/{i}", method=method)
        client.open("/healthz", method=method)
    series = _request_series(client)
    labels = [dict(re.findall(r'(\w+)="([^"]*)"', s)) for s in series]
    assert {entry["method"] for entry in labels} <= metrics.METHODS | {"other"}
    assert {entry["route"] for entry in labels} <= {rule.rule for rule in app.url_map.iter_rules()} | {"other"}
    assert len(set(series) - before) < 10  # 600 made-up requests, a handful of new series


# Under the gevent worker every connection is a greenlet; a log record that asks for its thread
# makes threading build a dummy Thread for each one (about 40 µs of a request's CPU).
_GREENLET_LOGS = """
from gevent import monkey

monkey.patch_all()
import logging, threading, gevent
from service.logs import configure_logging

configure_logging("INFO")
before = len(threading.enumerate())
gevent.joinall([gevent.spawn(logging.getLogger("service.requests").info, "request") for _ in range(20)])
print(len(threading.enumerate()) - before)
"""


def test_log_records_in_greenlets_make_no_threads() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _GREENLET_LOGS], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 21 and all(json.loads(line)["message"] == "request" for line in lines[:20])
    assert lines[-1] == "0"


@pytest.mark.parametrize(
    ("now", "ts"),
    [
        (1795300000.0, "2026-11-21T22:26:40.000Z"),
        (1795300000.0999, "2026-11-21T22:26:40.099Z"),
        (1795300059.9996, "2026-11-21T22:27:39.999Z"),
    ],
)
def test_request_lines_written_directly_are_the_lines_logging_writes(monkeypatch, now: float, ts: str) -> None:
    """Byte for byte, and flushed: the line is out before the response."""
    fields = {
        "request_id": "r-1",
        "method": "GET…",
        "route": "other",
        "status": 404,
        "duration_ms": 0.5,
        "client": None,
    }
    written = io.BytesIO()
    stream = io.TextIOWrapper(written, encoding="utf-8")
    monkeypatch.setattr(logging.Formatter, "converter", time.gmtime)  # as configure_logging sets it
    monkeypatch.setattr(time, "time", lambda: now)
    RequestLog(logging.StreamHandler(stream), JsonFormatter()).write(fields)
    record = logging.getLogger(REQUESTS).makeRecord(REQUESTS, logging.INFO, __file__, 1, "request", (), None)
    record.created, record.msecs, record.fields = now, int((now - int(now)) * 1000) + 0.0, fields
    assert written.getvalue() == (JsonFormatter().format(record) + "\n").encode()
    assert written.getvalue().startswith(
        f'{{"ts":"{ts}","level":"INFO","logger":"service.requests","message":"request",'.encode()
    )


_ADDED_HANDLER = """
import logging
from service.logs import configure_logging, log_request

configure_logging("INFO")
log_request({"status": 200})
seen = []
handler = logging.Handler()
handler.emit = lambda record: seen.append(record.fields)
logging.getLogger().addHandler(handler)
log_request({"status": 201})
print(seen)
"""


def test_a_handler_added_after_configure_logging_gets_the_request_records() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _ADDED_HANDLER], capture_output=True, text=True, timeout=60, check=True
    )
    first, second, seen = done.stdout.splitlines()
    assert (json.loads(first)["status"], json.loads(second)["status"]) == (200, 201)  # both on stdout
    assert seen == "[{'status': 201}]"
