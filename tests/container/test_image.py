"""Build the real image with podman, run it locked down, and run the real Deployment.

``make test-container`` (called by .ci/run) runs this; it needs root, podman, runc and
debootstrap (Debian packages). Public registries are unreachable here, so the base image is
a stand-in: a minimal Debian bookworm with Debian's python3, imported into podman once and
reused (``localhost/buttock-pain-cds-base:bookworm``). Everything else this test creates is
removed by name at the end; nothing else is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = Path(__file__).with_name("containers.conf")
BASE = "localhost/buttock-pain-cds-base:bookworm"
IMAGE = "localhost/buttock-pain-cds:container-test"
CONTAINER = "buttock-pain-cds-container-test"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
RECORD = {
    "patient": {"age": 30, "sex": "female", "pregnancy": {"gestational_week": 34}},
    "complaint": {"locations": ["buttock"]},
    "findings": {"present": ["pain_radiates_below_knee", "saddle_anesthesia"], "absent": []},
}

pytestmark = pytest.mark.container


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    result = subprocess.run(["podman", *args], env=env, text=True, capture_output=True, timeout=timeout, check=False)
    if check and result.returncode != 0:  # podman's own words, or a failure here says nothing
        pytest.fail(f"podman {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}")
    return result


def wait_ready(port: int, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                return json.load(response)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def assess(port: int) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/assessments",
        data=json.dumps(RECORD).encode(),
        headers={"Content-Type": "application/json", "X-Request-ID": "container-test-1"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["X-Request-ID"] == "container-test-1"
        return json.load(response)


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed (apt-get install podman runc debootstrap)")
    if podman("image", "exists", BASE, check=False).returncode != 0:
        rootfs = Path(tempfile.mkdtemp(prefix="cds-rootfs-", dir="/var/tmp"))
        try:
            subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=python3,python3-venv",
                    "bookworm",
                    str(rootfs),
                    "http://deb.debian.org/debian",
                ],
                check=True,
                capture_output=True,
                timeout=900,
            )
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(
                ["podman", "import", "-", BASE],
                stdin=tar.stdout,
                check=True,
                capture_output=True,
                timeout=300,
                env={**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)},
            )
            tar.wait(timeout=60)
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
    build = [
        "build",
        "--format",
        "docker",
        "--pull=never",
        "--build-arg",
        f"BASE_IMAGE={BASE}",
        "-t",
        IMAGE,
        str(ROOT),
    ]
    if CA_BUNDLE.exists():  # a TLS-inspecting proxy needs the host's CAs; never baked in
        build[1:1] = ["--secret", f"id=ca,src={CA_BUNDLE}"]
    podman(*build, timeout=900)
    try:
        yield IMAGE
    finally:
        podman("rmi", "-f", IMAGE, check=False)


def test_the_image_runs_read_only_without_capabilities(image: str) -> None:
    inspect = json.loads(podman("image", "inspect", image).stdout)[0]
    assert inspect["Config"]["User"] == "10001:10001"
    assert "8080/tcp" in inspect["Config"]["ExposedPorts"]
    assert "/healthz" in " ".join(inspect["Healthcheck"]["Test"])
    assert (
        podman("run", "--rm", "--entrypoint", "sh", image, "-c", "command -v gcc || echo none").stdout.strip() == "none"
    )

    port = free_port()
    podman(
        "run",
        "-d",
        "--name",
        CONTAINER,
        "--read-only",
        "--tmpfs",
        "/tmp:rw,size=64m",
        "--cap-drop=ALL",
        "--security-opt",
        "no-new-privileges",
        "-e",
        "WORKERS=2",
        "-p",
        f"127.0.0.1:{port}:8080",
        image,
    )
    try:
        assert wait_ready(port)["status"] == "ready"
        result = assess(port)
        assert result["urgency"]["level"] == "emergency"
        assert "oral_nsaids" not in {c["id"] for c in result["care"]}
        logs = podman("logs", CONTAINER).stdout + podman("logs", CONTAINER).stderr
        assert '"request_id":"container-test-1"' in logs
        assert "saddle" not in logs  # no record content in the logs
    finally:
        podman("rm", "-f", "-t", "5", CONTAINER, check=False)


def test_the_kubernetes_deployment_runs_under_podman_kube_play(image: str, tmp_path: Path) -> None:
    deployment = yaml.safe_load((ROOT / "deploy/kubernetes/deployment.yaml").read_text())
    deployment["spec"]["replicas"] = 1
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["image"], container["imagePullPolicy"] = image, "Never"
    port = free_port()
    container["ports"][0]["hostPort"] = port  # the only change: a way in from the host
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(yaml.safe_dump(deployment))
    podman("kube", "play", "--configmap", str(ROOT / "deploy/kubernetes/configmap.yaml"), str(manifest))
    try:
        assert wait_ready(port)["status"] == "ready"
        assert assess(port)["urgency"]["level"] == "emergency"
    finally:
        podman("kube", "play", "--down", str(manifest), check=False, timeout=120)
