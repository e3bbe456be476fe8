"""Runtime settings from the environment (12-factor), validated once at start.

Both gunicorn (deploy/gunicorn.conf.py) and the app read these through
:func:`Settings.from_env`, so a bad value fails the same way, with a message that names the
variable, before any request is served.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_RULES = str(Path(__file__).resolve().parent.parent / "rules")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """An environment variable has a value the service cannot run with."""


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw, 10)
        except ValueError:
            raise SettingsError(f"must be a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise SettingsError(f"must be from {low} to {high}")
        return value

    return parse


def _log_level(raw: str) -> str:
    if raw.upper() not in LOG_LEVELS:
        raise SettingsError(f"must be one of {', '.join(LOG_LEVELS)}")
    return raw.upper()


def _directory(raw: str) -> str:
    if not Path(raw).is_dir():
        raise SettingsError("must be an existing directory")
    return raw


def _file(raw: str) -> str:
    if not Path(raw).is_file():
        raise SettingsError("must name an existing JSON file")
    return raw


def _host(raw: str) -> str:
    if not raw or any(c.isspace() for c in raw):
        raise SettingsError("must be an address to bind, such as 127.0.0.1 or 0.0.0.0")
    return raw


def _public_base_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError("must be the public http(s) origin EHRs call, such as https://cds.hospital.org")
    return raw.rstrip("/")


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise SettingsError("must be comma-separated origins such as https://app.example.org")
    return origins


def _boolean(raw: str) -> bool:
    if raw.lower() not in ("true", "false", "1", "0"):
        raise SettingsError("must be true or false")
    return raw.lower() in ("true", "1")


def _replay_store(raw: str) -> str:
    if urlsplit(raw).scheme not in ("redis", "rediss"):
        raise SettingsError("must be a redis:// or rediss:// URL")
    return raw


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = os.cpu_count() or 1
    log_level: str = "INFO"
    max_body_bytes: int = 64 * 1024
    trusted_proxies: int = 0  # X-Forwarded-* hops to believe (werkzeug ProxyFix)
    rules_dir: str = PROJECT_RULES  # the knowledge base; the image sets /app/rules
    max_requests: int = 20000  # gunicorn recycles a worker after this many (0: never)
    cds_clients: str = ""  # JSON allowlist of EHRs for CDS Hooks; empty: every hook call refused
    public_base_url: str = ""  # the origin EHRs call; JWT aud and canonical URLs; empty: hook calls refused
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call; empty: none
    replay_store: str = ""  # redis:// URL for seen JWT ids across workers and pods; empty: per process
    cds_silent_rollout: bool = False  # CDS Hooks cards computed and counted, but not shown
    require_replay_store: bool = False  # refuse to start without REPLAY_STORE (several workers or pods)

    def __post_init__(self) -> None:
        if self.require_replay_store and not self.replay_store:
            raise SettingsError(
                "REQUIRE_REPLAY_STORE=true but REPLAY_STORE is empty: name the shared Redis that remembers "
                "CDS Hooks token ids, or a token can be accepted once per worker and pod"
            )

    def replay_gap(self, environ: Mapping[str, str] | None = None) -> str:
        """Why a CDS Hooks token could be accepted more than once here, or "" if it cannot.

        Without ``REPLAY_STORE`` each process remembers the ids it has seen, and only those: one
        gunicorn worker cannot tell that another already accepted a token. A pod in Kubernetes
        (which sets ``KUBERNETES_SERVICE_HOST`` in every container) has the same gap with its
        sibling pods, whatever its number of workers, since a Deployment may run several.
        """
        environ = os.environ if environ is None else environ
        if self.replay_store:
            return ""
        if self.workers > 1:
            return f"WORKERS={self.workers} and no REPLAY_STORE: a CDS Hooks token can be accepted once per worker"
        if environ.get("KUBERNETES_SERVICE_HOST"):
            return "running in Kubernetes with no REPLAY_STORE: a CDS Hooks token can be accepted once per pod"
        return ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            name = field.name.upper()
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[field.name] = _PARSERS[field.name](raw.strip())
            except SettingsError as error:
                raise SettingsError(f"{name}={raw!r}: {error}") from None
        return cls(**values)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "host": _host,
    "port": _integer(1, 65535),
    "workers": _integer(1, 64),
    "log_level": _log_level,
    "max_body_bytes": _integer(1024, 16 * 1024 * 1024),
    "trusted_proxies": _integer(0, 5),
    "rules_dir": _directory,
    "max_requests": _integer(0, 10_000_000),
    "cds_clients": _file,
    "public_base_url": _public_base_url,
    "cors_origins": _origins,
    "replay_store": _replay_store,
    "cds_silent_rollout": _boolean,
    "require_replay_store": _boolean,
}
