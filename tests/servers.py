"""Real servers for integration tests: gunicorn with the production config, and the gateway.

Everything binds 127.0.0.1 on a free port and is stopped when the context exits.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_HOST = "cds.example.invalid"  # the server_name of deploy/gateway/nginx.conf; other Hosts get 421
WORKER_HEADER = "X-Test-Worker-Pid"  # tests/worker_tagged.py: which gunicorn worker answered
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited during start-up")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass
class Service:
    port: int
    process: subprocess.Popen
    log: Path

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return sorted(int(pid) for pid in children.split())

    @staticmethod
    def rss_kib(pid: int) -> int:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


@contextmanager
def gunicorn(workdir: Path, app: str = "service.wsgi:app", port: int | None = None, **env: str) -> Iterator[Service]:
    """gunicorn with deploy/gunicorn.conf.py serving ``app`` (on ``port``, or a free one: give it when
    a setting such as PUBLIC_BASE_URL must name it); its output goes to workdir/service.log."""
    port = port or free_port()
    log = workdir / "service.log"
    environment = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": "2",
        **env,
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config",
                str(ROOT / "deploy/gunicorn.conf.py"),
                app,
            ],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_port(port, process)
        yield Service(port, process, log)
    finally:
        stop(process)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def render_gateway(conf: str, *, port: int, upstream: int, tls: Path, run: Path) -> str:
    """The reference config with this test's ports, certificate and pid file; nothing else."""
    replacements = {
        "listen 443 ssl http2 default_server;": f"listen 127.0.0.1:{port} ssl http2 default_server;",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
        "/etc/nginx/tls/tls.crt": str(tls / "tls.crt"),
        "/etc/nginx/tls/tls.key": str(tls / "tls.key"),
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{upstream};",
        "pid /run/nginx.pid;": f"pid {run / 'nginx.pid'};",
    }
    for old, new in replacements.items():
        if old not in conf:
            raise AssertionError(f"nginx.conf no longer contains {old!r}")
        conf = conf.replace(old, new)  # every occurrence: both servers
    return conf


@contextmanager
def gateway(workdir: Path, upstream: int) -> Iterator[int]:
    """nginx with deploy/gateway/nginx.conf in front of ``upstream``; yields its TLS port."""
    nginx = nginx_binary()
    if nginx is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    tls = workdir / "tls"
    tls.mkdir(exist_ok=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(tls / "tls.key"),
            "-out",
            str(tls / "tls.crt"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(
        render_gateway(
            (ROOT / "deploy/gateway/nginx.conf").read_text(),
            port=port,
            upstream=upstream,
            tls=tls,
            run=workdir,
        )
    )
    with (workdir / "gateway.log").open("w") as out:
        process = subprocess.Popen(
            [nginx, "-p", str(workdir), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_port(port, process)
        yield port
    finally:
        stop(process)
