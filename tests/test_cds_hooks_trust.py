"""CDS Hooks trust: the audience from configuration, tokens that cannot crash or be replayed,
jku key sets fetched rarely and never on an attacker's say-so."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.interop.cds_hooks.auth import AuthError, Client, TokenVerifier
from service.interop.cds_hooks.replay import ProcessReplayCache, RedisReplayStore, ReplayStoreUnavailableError
from tests.cds_tokens import BASE, ISSUER, TRIAGE, Ehr
from tests.servers import WORKER_HEADER, free_port, gunicorn, stop, wait_port
from tests.test_cds_hooks import hook_request, patient

PATH = "/cds-services/buttock-pain-triage"


@pytest.fixture(scope="module")
def cds(ehr: Ehr, tmp_path_factory) -> FlaskClient:
    config = ehr.app_config(tmp_path_factory.mktemp("trust") / "clients.json")
    return create_app({"TESTING": True, "TRUSTED_PROXIES": 1, **config}).test_client()


def post(client: FlaskClient, authorization: str, **headers: str) -> Any:
    return client.post(
        PATH, json=hook_request({"patient": patient()}), headers={"Authorization": authorization, **headers}
    )


def bearer(token: str) -> str:
    return f"Bearer {token}"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        k: v
        for k, v in {
            "iss": ISSUER,
            "aud": TRIAGE,
            "exp": now + 60,
            "iat": now,
            "jti": uuid.uuid4().hex,
            **overrides,
        }.items()
        if v is not None
    }


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'JWT', **header})}.{part(payload)}."


# --- the audience ------------------------------------------------------------------------


@pytest.mark.parametrize("forwarded", [False, True])
def test_a_token_for_the_host_the_request_names_is_refused(cds: FlaskClient, ehr: Ehr, forwarded: bool) -> None:
    evil = f"http://evil.example{PATH}"
    headers = (
        {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"} if forwarded else {"Host": "evil.example"}
    )
    response = post(cds, bearer(ehr.token(audience=evil)), **headers)
    assert response.status_code == 401 and "InvalidAudienceError" in response.get_json()["detail"]
    # the configured public URL decides, whatever Host says
    assert post(cds, bearer(ehr.token()), **headers).status_code == 200


def test_without_public_base_url_hook_calls_are_refused(ehr: Ehr, tmp_path: Path) -> None:
    config = ehr.app_config(tmp_path / "clients.json")
    client = create_app({"TESTING": True, "CDS_CLIENTS": config["CDS_CLIENTS"]}).test_client()
    response = post(client, bearer(ehr.token(audience=f"http://localhost{PATH}")))
    assert response.status_code == 401 and "PUBLIC_BASE_URL" in response.get_json()["detail"]


# --- tokens that must be refused, never crash ------------------------------------------


def _cases(ehr: Ehr) -> dict[str, str]:
    now = int(time.time())
    return {
        "unsigned, EC alg with an RSA kid": unsigned({"alg": "ES384", "kid": "rsa-1"}, claims()),
        "unsigned, RSA alg with an EC kid": unsigned({"alg": "RS384", "kid": "ec-1"}, claims()),
        "unsigned, no kid": unsigned({"alg": "ES384"}, claims()),
        "non-string iss": unsigned({"alg": "ES384", "kid": "ec-1"}, claims(iss=[ISSUER])),
        "object iss": unsigned({"alg": "RS384"}, claims(iss={"a": 1})),
        "signed by RSA, kid of the EC key": jwt.encode(claims(), ehr.rsa, algorithm="RS384", headers={"kid": "ec-1"}),
        "empty jti": ehr.token(jti=""),
        "blank jti": ehr.token(jti="   "),
        "numeric jti": ehr.token(jti=7),
        "lifetime over five minutes": ehr.token(iat=now, exp=now + 301),
        "not yet valid (nbf)": ehr.token(nbf=now + 600),
        "issued in the future": ehr.token(iat=now + 600, exp=now + 700),
        "exp too large for a clock": ehr.token(exp=10**400),
        "iat too far in the past for a clock": ehr.token(iat=-(10**400)),
        "exp as a numeric string": ehr.token(exp=str(now + 60)),
        "iat as a numeric string": ehr.token(iat=str(now)),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unsigned, EC alg with an RSA kid",
        "unsigned, RSA alg with an EC kid",
        "unsigned, no kid",
        "non-string iss",
        "object iss",
        "signed by RSA, kid of the EC key",
        "empty jti",
        "blank jti",
        "numeric jti",
        "lifetime over five minutes",
        "not yet valid (nbf)",
        "issued in the future",
        "exp too large for a clock",
        "iat too far in the past for a clock",
        "exp as a numeric string",
        "iat as a numeric string",
    ],
)
def test_bad_tokens_are_401_not_500(cds: FlaskClient, ehr: Ehr, case: str) -> None:
    response = post(cds, bearer(_cases(ehr)[case]))
    assert response.status_code == 401 and response.mimetype == "application/problem+json", response.get_json()


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_a_genuine_token_without_kid_is_verified_against_the_matching_keys(
    cds: FlaskClient, ehr: Ehr, alg: str
) -> None:
    key = ehr.rsa if alg == "RS384" else ehr.ec
    token = jwt.encode(claims(), key, algorithm=alg)
    assert "kid" not in jwt.get_unverified_header(token)
    assert post(cds, bearer(token)).status_code == 200
    tampered = jwt.encode(claims(), Ehr().ec if alg == "ES384" else Ehr().rsa, algorithm=alg)  # another EHR's key
    assert post(cds, bearer(tampered)).status_code == 401


def test_a_five_minute_token_is_accepted(cds: FlaskClient, ehr: Ehr) -> None:
    now = int(time.time())
    assert post(cds, bearer(ehr.token(iat=now, exp=now + 300))).status_code == 200


# --- jku ---------------------------------------------------------------------------------


@contextmanager
def key_server(jwks: dict[str, Any]) -> Iterator[tuple[str, Counter[str]]]:
    """An EHR's key endpoint on loopback: /jwks.json, /broken (500) and /moved (302 to /jwks.json)."""
    fetches: Counter[str] = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches[self.path] += 1
            if self.path == "/jwks.json":
                body = json.dumps(jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/jwks.json")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(500)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", fetches
    finally:
        server.shutdown()
        server.server_close()


def jku_verifier(jku: str) -> TokenVerifier:
    return TokenVerifier({ISSUER: Client(ISSUER, None, jku)}, public_base_url=BASE)


def test_jku_keys_are_fetched_once_and_forged_tokens_cause_no_more_fetches(ehr: Ehr) -> None:
    with key_server(ehr.jwks()) as (origin, fetches):
        jku = f"{origin}/jwks.json"
        verifier = jku_verifier(jku)
        assert verifier.verify(bearer(ehr.token(jku=jku)), PATH)["iss"] == ISSUER
        forger = Ehr()
        for i in range(100):
            forged = jwt.encode(claims(), forger.ec, algorithm="ES384", headers={"jku": jku, "kid": f"k{i}"})
            with pytest.raises(AuthError):
                verifier.verify(bearer(forged), PATH)
        assert verifier.verify(bearer(ehr.token(jku=jku)), PATH)  # still served from the cache
        rogue = ehr.token(jku=f"{origin}/elsewhere.json")
        with pytest.raises(AuthError, match="jku is not on the allowlist"):
            verifier.verify(bearer(rogue), PATH)
        assert fetches == Counter({"/jwks.json": 1})


def test_a_failing_jku_is_401_and_fetched_once_for_many_tokens(ehr: Ehr) -> None:
    with key_server(ehr.jwks()) as (origin, fetches):
        jku = f"{origin}/broken"
        verifier = jku_verifier(jku)
        for _ in range(100):
            with pytest.raises(AuthError, match="could not be fetched"):
                verifier.verify(bearer(ehr.token(jku=jku)), PATH)
        assert fetches == Counter({"/broken": 1})


def test_a_jku_redirect_is_not_followed(ehr: Ehr) -> None:
    with key_server(ehr.jwks()) as (origin, fetches):
        jku = f"{origin}/moved"
        with pytest.raises(AuthError, match="could not be fetched"):
            jku_verifier(jku).verify(bearer(ehr.token(jku=jku)), PATH)
        assert fetches == Counter({"/moved": 1})


def test_an_unreachable_jku_is_401(ehr: Ehr) -> None:
    jku = f"http://127.0.0.1:{free_port()}/jwks.json"  # nothing listens there
    with pytest.raises(AuthError, match="could not be fetched"):
        jku_verifier(jku).verify(bearer(ehr.token(jku=jku)), PATH)


# --- replay ------------------------------------------------------------------------------


def test_the_per_process_replay_cache_is_bounded_and_forgets_expired_ids() -> None:
    cache = ProcessReplayCache(capacity=2)
    assert cache.first_use("old", 0)  # expires at once
    assert cache.first_use("a", 60) and not cache.first_use("a", 60)
    assert cache.first_use("b", 60)  # full: the expired id makes room
    with pytest.raises(ReplayStoreUnavailableError):
        cache.first_use("c", 60)  # full of live ids: refused, never let through unchecked
    assert not cache.first_use("a", 60)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


def test_the_redis_store_keeps_an_id_until_its_token_expires(redis_url: str) -> None:
    store = RedisReplayStore(redis_url)
    key = uuid.uuid4().hex
    assert store.first_use(key, 60)
    assert not store.first_use(key, 60)
    assert not RedisReplayStore(redis_url).first_use(key, 60)  # another process, same answer
    assert 0 < store._redis.ttl(f"cds-hooks:jti:{key}") <= 60


def test_an_unreachable_replay_store_refuses_the_call_with_503(ehr: Ehr, tmp_path: Path) -> None:
    config = ehr.app_config(tmp_path / "clients.json")
    down = f"redis://127.0.0.1:{free_port()}/0"
    client = create_app({"TESTING": True, "REPLAY_STORE": down, **config}).test_client()
    response = post(client, bearer(ehr.token()))
    assert response.status_code == 503 and response.mimetype == "application/problem+json"


def test_a_token_is_accepted_once_across_gunicorn_workers(ehr: Ehr, redis_url: str, tmp_path: Path) -> None:
    config = ehr.app_config(tmp_path / "clients.json")
    env = {**config, "WORKERS": "2", "REPLAY_STORE": redis_url}
    body = hook_request({"patient": patient()})
    with gunicorn(tmp_path, "tests.worker_tagged:app", **env) as service:

        def send(token: str) -> tuple[int, str]:
            connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=20)  # any worker may take it
            try:
                headers = {"Authorization": bearer(token), "Content-Type": "application/json"}
                connection.request("POST", PATH, body=json.dumps(body), headers=headers)
                response = connection.getresponse()
                response.read()
                return response.status, response.getheader(WORKER_HEADER) or ""
            finally:
                connection.close()

        crossed = False
        with ThreadPoolExecutor(max_workers=6) as pool:
            for _ in range(30):  # bounded: stop once a replay reached the other worker
                token = ehr.token()
                status, accepted_by = send(token)
                assert status == 200
                replays = list(pool.map(send, [token] * 6))
                assert all(status == 401 for status, _ in replays), replays
                crossed = any(pid != accepted_by for _, pid in replays)
                if crossed:
                    break
        assert crossed, "no replay reached the other worker"
