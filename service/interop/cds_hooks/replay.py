"""Seen JWT ids: a CDS Hooks token is accepted once, on whichever worker or pod it reaches.

Two stores with one question, :meth:`first_use`: the default keeps ids in this process
(bounded, so a flood of valid tokens cannot grow it without limit; right for one process),
and ``REPLAY_STORE=redis://…`` keeps them in Redis with ``SET NX EX``, shared by every worker
and pod. Either way an id is kept until its token expires, and the store fails closed: when
it cannot answer, the call is refused rather than let through unchecked.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

PROCESS_CAPACITY = 50_000  # unexpired ids one process keeps; tokens live at most ~5.5 minutes
REDIS_TIMEOUT_SECONDS = 1.0
REDIS_PREFIX = "cds-hooks:jti:"


class ReplayStoreUnavailableError(Exception):
    """The replay store cannot say whether a token is new; the call must be refused."""


class ReplayStore(Protocol):
    def first_use(self, key: str, ttl_seconds: int) -> bool:
        """Record ``key`` for ``ttl_seconds``; False if it was already recorded and not expired."""


class ProcessReplayCache:
    """Seen ids in this process only: enough for one process, not for several workers or pods."""

    def __init__(self, capacity: int = PROCESS_CAPACITY) -> None:
        self._capacity = capacity
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, key: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._expiry.get(key, 0.0) > now:
                return False
            if len(self._expiry) >= self._capacity:
                self._expiry = {k: e for k, e in self._expiry.items() if e > now}
                if len(self._expiry) >= self._capacity:
                    raise ReplayStoreUnavailableError("too many unexpired tokens to check for replay")
            self._expiry[key] = now + ttl_seconds
            return True


class RedisReplayStore:
    """Seen ids in Redis, so a token used on one worker or pod is refused on every other."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )

    def first_use(self, key: str, ttl_seconds: int) -> bool:
        try:
            return bool(self._redis.set(REDIS_PREFIX + key, b"1", nx=True, ex=ttl_seconds))
        except redis.RedisError as error:
            raise ReplayStoreUnavailableError(f"replay store unavailable ({type(error).__name__})") from None


def replay_store(url: str) -> ReplayStore:
    """The store ``REPLAY_STORE`` names; empty: this process only."""
    return RedisReplayStore(url) if url else ProcessReplayCache()
