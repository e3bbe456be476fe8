"""Dockerfile, Kubernetes manifests, gunicorn config and app agree, and pass their linters."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from service.settings import Settings
from tests.servers import gunicorn

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
BIN = Path(sys.executable).parent


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def manifests() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in K8S.glob("*.yaml") if p.stem != "kustomization"}


def container() -> dict:
    return manifests()["deployment"]["spec"]["template"]["spec"]["containers"][0]


def test_port_agrees_everywhere(app) -> None:
    port = Settings().port
    assert re.search(rf"^EXPOSE {port}$", dockerfile(), re.M)
    assert f"PORT={port}" in dockerfile()
    assert container()["ports"][0]["containerPort"] == port
    assert manifests()["configmap"]["data"]["PORT"] == str(port)
    assert manifests()["service"]["spec"]["ports"][0]["targetPort"] == container()["ports"][0]["name"]


def test_probe_paths_exist_in_the_app_and_agree_with_the_image(app) -> None:
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert container()["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container()["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"/healthz", "/readyz", "/metrics"} <= routes
    assert re.search(r"HEALTHCHECK .*\n.*/healthz", dockerfile())


def test_user_agrees_and_is_not_root() -> None:
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile(), re.M)
    assert user and user.group(1) != "0"
    pod = manifests()["deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert str(pod["runAsUser"]) == user.group(1) and str(pod["runAsGroup"]) == user.group(2)
    security = container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["allowPrivilegeEscalation"] is False


def test_gunicorn_has_a_writable_tmp_under_a_read_only_root() -> None:
    mounts = {m["mountPath"] for m in container()["volumeMounts"]}
    assert "/tmp" in mounts
    conf = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    assert "tempfile.gettempdir()" in conf  # worker_tmp_dir and the metrics directory live there


def test_every_configmap_key_is_a_validated_setting() -> None:
    data = manifests()["configmap"]["data"]
    settings = Settings.from_env(data)  # raises on any invalid value
    assert {k.lower() for k in data} <= set(vars(settings))


def test_shutdown_grace_outlasts_the_prestop_delay_and_gunicorn_graceful_timeout() -> None:
    conf = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    graceful = int(re.search(r"^graceful_timeout = (\d+)", conf, re.M).group(1))
    grace = manifests()["deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    command = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and int(command[1]) >= 5  # endpoints removed before SIGTERM
    assert grace > int(command[1]) + graceful


def replay_store() -> dict[str, dict]:
    """deploy/kubernetes/replay-store/redis.yaml by kind (and the two NetworkPolicies by name)."""
    documents = yaml.safe_load_all((K8S / "replay-store" / "redis.yaml").read_text())
    return {d["metadata"]["name"] if d["kind"] == "NetworkPolicy" else d["kind"]: d for d in documents}


def test_the_shipped_deployment_shares_one_replay_store() -> None:
    """Several pods (the HPA adds more) of several workers: every one remembers token ids in the
    store the kustomization deploys, and a pod without one refuses to start."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "replay-store/redis.yaml" in kustomization["resources"]
    service = replay_store()["Service"]
    port = service["spec"]["ports"][0]["port"]
    settings = Settings.from_env(manifests()["configmap"]["data"])
    assert settings.replay_store == f"redis://{service['metadata']['name']}:{port}/0"
    assert settings.require_replay_store
    assert settings.replay_gap({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}) == ""
    egress = replay_store()["buttock-pain-cds-to-replay-store"]["spec"]
    assert egress["podSelector"] == manifests()["deployment"]["spec"]["selector"]
    assert egress["egress"][0]["ports"][0]["port"] == port


def test_the_replay_store_is_locked_down_probed_and_keeps_nothing_on_disk() -> None:
    deployment = replay_store()["Deployment"]["spec"]
    pod = deployment["template"]["spec"]
    (redis,) = pod["containers"]
    assert deployment["replicas"] == 1 and deployment["strategy"]["type"] == "Recreate"  # never two stores at once
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    assert redis["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"cpu", "memory"} <= set(redis["resources"]["limits"]) and redis["resources"]["requests"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert redis[probe]["exec"]["command"] == ["redis-cli", "ping"]
    args = redis["args"]
    assert args[args.index("--save") + 1] == "" and args[args.index("--appendonly") + 1] == "no"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"  # full: refuse (503), never forget an id
    assert "volumes" not in pod
    assert replay_store()["Service"]["spec"]["selector"] == deployment["template"]["metadata"]["labels"]


def test_only_the_service_pods_reach_the_replay_store() -> None:
    policy = replay_store()["buttock-pain-cds-replay-store"]["spec"]
    assert policy["podSelector"] == replay_store()["Deployment"]["spec"]["selector"]
    assert policy["policyTypes"] == ["Ingress", "Egress"] and policy["egress"] == []
    (rule,) = policy["ingress"]
    assert rule["from"] == [{"podSelector": manifests()["deployment"]["spec"]["selector"]}]
    assert [p["port"] for p in rule["ports"]] == ["redis"]


def test_compose_shares_a_replay_store_only_its_workers_reach() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    environment = services["cds"]["environment"]
    settings = Settings.from_env({k: str(v) for k, v in environment.items()})
    assert settings.workers > 1 and settings.require_replay_store and settings.replay_gap({}) == ""
    store = services["replay-store"]
    assert store["network_mode"] == "service:cds" and "ports" not in store  # the service's loopback only
    command = store["command"]
    url = urlsplit(settings.replay_store)
    assert (url.hostname, url.port) == (command[command.index("--bind") + 1], int(command[command.index("--port") + 1]))
    assert command[command.index("--save") + 1] == "" and command[command.index("--appendonly") + 1] == "no"
    assert store["read_only"] is True and store["cap_drop"] == ["ALL"] and store["user"] != "0"
    assert store["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifests_validate_strictly_offline(tmp_path: Path) -> None:
    files = sorted(str(p) for p in K8S.glob("**/*.yaml") if p.stem != "kustomization")
    if shutil.which("kubectl"):  # also the rendered kustomization, as it would be applied
        rendered = tmp_path / "rendered.yaml"
        rendered.write_text(
            subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=True).stdout
        )
        files.append(str(rendered))
    result = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "--quiet", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def check_config(**env: str) -> subprocess.CompletedProcess[str]:
    """gunicorn's start with the production config, up to loading the app, and nothing more."""
    return subprocess.run(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--check-config",
            "service.wsgi:app",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": str(BIN), **env},
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "eighty", "PORT='eighty': must be a whole number"),
        ("WORKERS", "0", "WORKERS='0': must be from 1 to 64"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD': must be one of"),
        ("TRUSTED_PROXIES", "-1", "TRUSTED_PROXIES='-1'"),
        ("MAX_BODY_BYTES", "12", "MAX_BODY_BYTES='12': must be from 1024"),
        ("REQUIRE_REPLAY_STORE", "true", "REQUIRE_REPLAY_STORE=true but REPLAY_STORE is empty"),
    ],
)
def test_gunicorn_refuses_to_start_on_a_bad_setting(name: str, value: str, message: str) -> None:
    result = check_config(**{name: value})
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def replay_warnings(stdout: str) -> list[dict]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [line for line in lines if line["level"] == "WARNING" and "REPLAY_STORE" in line["message"]]


@pytest.mark.parametrize(
    ("env", "warned"),
    [
        ({"WORKERS": "2"}, "WORKERS=2 and no REPLAY_STORE: a CDS Hooks token can be accepted once per worker"),
        ({"WORKERS": "1", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "can be accepted once per pod"),
        ({"WORKERS": "1"}, None),  # `make run` on one core, or WORKERS=1 on a laptop: one memory, no gap
        ({"WORKERS": "2", "REPLAY_STORE": "redis://127.0.0.1:6379/0"}, None),  # not connected at start
    ],
)
def test_a_start_that_could_accept_a_token_twice_warns_once(env: dict[str, str], warned: str | None) -> None:
    result = check_config(**env)
    assert result.returncode == 0, result.stderr
    warnings = replay_warnings(result.stdout)
    if warned is None:
        assert warnings == []
    else:
        (warning,) = warnings
        assert warning["logger"] == "service.wsgi" and warned in warning["message"]


@pytest.mark.gateway
def test_the_replay_warning_is_the_master_s_not_each_worker_s(tmp_path: Path) -> None:
    with gunicorn(tmp_path, WORKERS="2") as service:
        deadline = time.monotonic() + 60  # the second worker may fork late on a loaded machine
        while len(service.worker_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(service.worker_pids()) == 2
        for _ in range(4):  # the workers are up and serving
            with urllib.request.urlopen(f"http://127.0.0.1:{service.port}/readyz", timeout=30) as response:
                assert response.status == 200
        assert len(replay_warnings(service.log.read_text())) == 1


def locked() -> dict[str, list[str]]:
    """requirements.lock as {name: [hashes]}."""
    pins: dict[str, list[str]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if pin := re.match(r"^([A-Za-z0-9_.-]+)==\S+ \\$", line):
            name = pin.group(1).lower()
            pins[name] = []
        elif digest := re.match(r"^\s+--hash=(sha256:[0-9a-f]{64})", line):
            pins[name].append(digest.group(1))
    return pins


def test_the_image_installs_only_locked_hash_checked_packages() -> None:
    """Every locked package hash-checked from requirements.lock, but durable-rules: the image
    builds it once, from its hash-checked sdist (third_party/durable_rules/build.py)."""
    text = " ".join(dockerfile().replace("\\\n", " ").split())
    filtered = re.search(r"awk '([^']*)' requirements\.lock > (\S+)", text)
    assert filtered, "the lock is filtered with awk before the hash-checked install"
    assert re.search(rf"pip install .*--require-hashes .*-r {re.escape(filtered.group(2))}", text)
    kept = subprocess.run(
        ["awk", filtered.group(1), str(ROOT / "requirements.lock")], capture_output=True, text=True, check=True
    ).stdout
    lock = (ROOT / "requirements.lock").read_text()
    assert "durable-rules" not in kept
    assert len(lock.splitlines()) - len(kept.splitlines()) == 1 + len(locked()["durable-rules"])  # its line, its hashes
    assert "build.py --out" in text
    assert re.search(r"pip install .*--no-deps .*--no-index \.", dockerfile())  # the project, nothing fetched
    pins = locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {re.split(r"[\[<>=!~ ]", d, maxsplit=1)[0].lower().replace("_", "-").replace(".", "-") for d in project}
    assert wanted <= set(pins), f"not in requirements.lock (make lock): {wanted - set(pins)}"
    assert all(pins.values()), "every pin carries its hashes"


def test_make_sbom_writes_a_cyclonedx_document_of_the_image_packages() -> None:
    result = subprocess.run(["make", "sbom"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    sbom = json.loads((ROOT / "build" / "sbom.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    components = {c["name"].lower(): c["version"] for c in sbom["components"]}
    assert {"flask", "durable-rules"} <= set(components)
    assert components["durable-rules"] == "2.0.28"
    assert set(components) == set(locked())
