"""CDS Hooks 2.0 security: every call carries a JWT signed by an allow-listed EHR.

Verified with PyJWT: the algorithm must be RS384 or ES384 (``none`` and HMAC are refused
before any key is looked at) and only keys of its type are tried; ``iss`` must be a string on
the allowlist read from the JSON file named by ``CDS_CLIENTS``
(``{"clients": [{"iss": ..., "jwks": {"keys": [...]}, "jku": ...}]}``); the key comes from
that client's JWKS (by ``kid``, or every matching key when the token names none), or from
its allow-listed ``jku`` URL, fetched with PyJWT's ``PyJWKClient`` (short timeout, no
redirects) and cached, failures included, so forged tokens cannot make this service fetch
again and again. ``aud`` must be ``PUBLIC_BASE_URL`` + the path called (never taken from
``Host`` or ``X-Forwarded-Host``: without ``PUBLIC_BASE_URL`` every call is refused);
``exp``, ``iat`` and a non-empty ``jti`` are required, ``nbf`` is honoured, a token may live
at most five minutes, and a ``jti`` is accepted once (:mod:`.replay`).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from service.interop.cds_hooks.replay import ProcessReplayCache, ReplayStore

KEY_TYPES = {"RS384": "RSA", "ES384": "EC"}  # the algorithms allowed, and the key type each needs
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 300  # exp - iat; CDS Hooks recommends five minutes
MAX_TIMESTAMP = 1e11  # seconds since the epoch (about the year 5138): a larger exp, iat or nbf is refused
MAX_JTI_LENGTH = 256
JWKS_TTL_SECONDS = 300  # a jku key set is fetched at most this often (key rotation waits this long)
JWKS_FAILURE_TTL_SECONDS = 60  # after a failed fetch, calls are refused this long without fetching
JWKS_TIMEOUT_SECONDS = 2.0


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


class RemoteKeySet:
    """One allow-listed ``jku``: fetched by PyJWKClient, kept for a TTL, failures kept too."""

    def __init__(self, url: str) -> None:
        self._client = jwt.PyJWKClient(url, lifespan=JWKS_TTL_SECONDS, timeout=JWKS_TIMEOUT_SECONDS)
        self._failed_until = 0.0
        self._lock = threading.Lock()  # one fetch at a time: concurrent calls wait for its result

    def keys(self) -> jwt.PyJWKSet:
        with self._lock:
            if time.monotonic() < self._failed_until:
                raise AuthError("the issuer's jku key set could not be fetched recently")
            try:
                return self._client.get_jwk_set()
            except jwt.PyJWKClientError:
                self._failed_until = time.monotonic() + JWKS_FAILURE_TTL_SECONDS
                raise AuthError("the issuer's jku key set could not be fetched") from None
            except jwt.PyJWTError:
                self._failed_until = time.monotonic() + JWKS_FAILURE_TTL_SECONDS
                raise AuthError("the issuer's jku key set is unusable") from None


class TokenVerifier:
    def __init__(
        self,
        clients: dict[str, Client],
        public_base_url: str = "",
        replay: ReplayStore | None = None,
    ) -> None:
        self._clients = clients
        self._base = public_base_url.rstrip("/")
        self._replay = replay or ProcessReplayCache()
        self._remote = {c.jku: RemoteKeySet(c.jku) for c in clients.values() if c.jku}

    def verify(self, authorization: str | None, path: str) -> dict[str, Any]:
        """The token's claims, if it authenticates a call to ``path``; :class:`AuthError` if not."""
        if not self._base:
            raise AuthError("hook calls are refused: this service has no PUBLIC_BASE_URL")
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError("missing bearer token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in KEY_TYPES:  # a list or object is unhashable
            raise AuthError("token algorithm must be RS384 or ES384")
        iss = unverified.get("iss")
        client = self._clients.get(iss) if isinstance(iss, str) else None
        if client is None:
            raise AuthError("issuer is not on the allowlist")
        claims = self._signed_claims(token, alg, self._candidate_keys(client, header, alg), client.iss, path)
        self._check_claims(claims)
        return claims

    def _candidate_keys(self, client: Client, header: dict[str, Any], alg: str) -> list[Any]:
        jku = header.get("jku")
        if jku is not None and jku != client.jku:
            raise AuthError("jku is not on the allowlist for this issuer")
        if jku:
            key_set = self._remote[jku].keys()
        elif client.jwks:
            try:
                key_set = jwt.PyJWKSet.from_dict(client.jwks)
            except jwt.PyJWTError:
                raise AuthError("the issuer's key set is unusable") from None
        else:
            raise AuthError("no keys configured for this issuer")
        kid = header.get("kid")
        keys = [
            k.key
            for k in key_set.keys
            if k.key_type == KEY_TYPES[alg]
            and k.public_key_use in ("sig", None)
            and (k.key_type == "RSA" or k.algorithm_name == alg)  # an EC key's curve fixes its algorithm
            and (kid is None or k.key_id == kid)
        ]
        if not keys:
            raise AuthError("no key of the token's type" + (" with that kid" if kid is not None else ""))
        return keys

    def _signed_claims(self, token: str, alg: str, keys: list[Any], iss: str, path: str) -> dict[str, Any]:
        """Claims verified with the first key whose signature matches (several only without a kid)."""
        for key in keys:
            try:
                return jwt.decode(
                    token,
                    key=key,
                    algorithms=[alg],
                    audience=self._base + path,
                    issuer=iss,
                    leeway=LEEWAY_SECONDS,
                    options={"require": ["iss", "aud", "exp", "iat", "jti"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except (jwt.PyJWTError, ValueError, TypeError) as error:  # ValueError/TypeError: a key it cannot use
                raise AuthError(f"token rejected: {type(error).__name__}") from None
        raise AuthError("token rejected: InvalidSignatureError")

    def _check_claims(self, claims: dict[str, Any]) -> None:
        for name in ("exp", "iat", "nbf"):  # PyJWT also takes numeric strings and numbers past a float
            if name in claims and not _is_timestamp(claims[name]):
                raise AuthError(f"{name} must be a number of seconds since the epoch")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti.strip() or len(jti) > MAX_JTI_LENGTH:
            raise AuthError(f"jti must be a non-empty string of at most {MAX_JTI_LENGTH} characters")
        if float(claims["exp"]) - float(claims["iat"]) > MAX_LIFETIME_SECONDS:
            raise AuthError(f"token lifetime (exp - iat) is over {MAX_LIFETIME_SECONDS} seconds")
        key = hashlib.sha256(f"{claims['iss']}\0{jti}".encode()).hexdigest()  # a jti is unique per issuer
        ttl = max(1, math.ceil(float(claims["exp"]) - time.time() + LEEWAY_SECONDS))
        if not self._replay.first_use(key, ttl):
            raise AuthError("token already used (jti replay)")


def _is_timestamp(value: Any) -> bool:
    """A JSON number a clock could show (RFC 7519 NumericDate), not a string, a boolean, or a
    number so large that arithmetic on it overflows."""
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < MAX_TIMESTAMP
