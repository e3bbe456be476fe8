"""CDS Hooks 2.0 security: every call carries a JWT signed by an allow-listed EHR.

Verified with PyJWT: the algorithm must be RS384 or ES384 (``none`` and HMAC are refused
before any key is looked at); ``iss`` must be on the allowlist read from the JSON file named
by ``CDS_CLIENTS`` (``{"clients": [{"iss": ..., "jwks": {"keys": [...]}, "jku": ...}]}``);
the key comes from that client's JWKS, or from its allow-listed ``jku`` URL; ``aud`` must be
the URL of the service called; ``exp``, ``iat`` and ``jti`` are required, and a ``jti`` is
accepted once within its lifetime (per process: run one replica per tenant's replay window,
or put the cache in a shared store, to extend this across pods).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

ALGORITHMS = ("RS384", "ES384")
LEEWAY_SECONDS = 30


class AuthError(Exception):
    """The call is not authenticated; the message says why without quoting the token."""


@dataclass(frozen=True)
class Client:
    iss: str
    jwks: dict[str, Any] | None
    jku: str | None


def load_clients(path: str | None) -> dict[str, Client]:
    """The allowlist; an absent setting means no client is allowed (every call refused)."""
    if not path:
        return {}
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return {c["iss"]: Client(iss=c["iss"], jwks=c.get("jwks"), jku=c.get("jku")) for c in raw["clients"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"CDS_CLIENTS={path!r}: not a readable client allowlist ({type(error).__name__})") from None


class TokenVerifier:
    def __init__(self, clients: dict[str, Client], fetch_jwks: Callable[[str], dict[str, Any]] | None = None) -> None:
        self._clients = clients
        self._fetch = fetch_jwks or _fetch_jwks
        self._seen: dict[str, float] = {}  # jti -> expiry
        self._lock = threading.Lock()

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError("missing bearer token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        if header.get("alg") not in ALGORITHMS:
            raise AuthError("token algorithm must be RS384 or ES384")
        issuer = unverified.get("iss")
        client = self._clients.get(issuer) if isinstance(issuer, str) else None
        if client is None:
            raise AuthError("issuer is not on the allowlist")
        key = self._key(client, header)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(ALGORITHMS),
                audience=audience,
                issuer=client.iss,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as error:
            raise AuthError(f"token rejected: {type(error).__name__}") from None
        self._once(claims["jti"], claims["exp"])
        return claims

    def _key(self, client: Client, header: dict[str, Any]) -> Any:
        jku = header.get("jku")
        if jku is not None and jku != client.jku:
            raise AuthError("jku is not on the allowlist for this issuer")
        keys = self._fetch(jku) if jku else client.jwks
        if not keys:
            raise AuthError("no keys configured for this issuer")
        try:
            key_set = jwt.PyJWKSet.from_dict(keys)
        except jwt.PyJWTError:
            raise AuthError("the issuer's key set is unusable") from None
        matching = [k for k in key_set.keys if header.get("kid") in (None, k.key_id)]
        if not matching:
            raise AuthError("no key with that kid")
        return matching[0].key

    def _once(self, jti: str, expires: float) -> None:
        now = time.time()
        with self._lock:
            self._seen = {j: e for j, e in self._seen.items() if e + LEEWAY_SECONDS > now}
            if jti in self._seen:
                raise AuthError("token already used (jti replay)")
            self._seen[jti] = expires


def _fetch_jwks(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        keys: dict[str, Any] = json.load(response)
        return keys
