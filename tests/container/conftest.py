"""What the container tests share: podman with this sandbox's settings, and the service image.

Public registries are unreachable here, so the base image is a stand-in: a minimal Debian
bookworm with Debian's python3, imported into podman once and reused
(``localhost/buttock-pain-cds-base:bookworm``). The service image is built once per session and
removed by name at the end; nothing else is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONTAINERS_CONF = Path(__file__).with_name("containers.conf")
BASE = "localhost/buttock-pain-cds-base:bookworm"
IMAGE = "localhost/buttock-pain-cds:container-test"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    result = subprocess.run(["podman", *args], env=env, text=True, capture_output=True, timeout=timeout, check=False)
    if check and result.returncode != 0:  # podman's own words, or a failure here says nothing
        pytest.fail(f"podman {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
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
