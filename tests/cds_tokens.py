"""Keys and tokens for CDS Hooks tests: the tests play the EHR and sign with keys they make."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://ehr.example.invalid"
BASE = "https://cds.example.invalid"  # PUBLIC_BASE_URL: tests call on localhost, the audience is this
TRIAGE = f"{BASE}/cds-services/buttock-pain-triage"


class Ehr:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP384R1())

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key, alg in (("rsa-1", self.rsa, "RS384"), ("ec-1", self.ec, "ES384")):
            algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS384" else jwt.algorithms.ECAlgorithm
            jwk = json.loads(algorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": keys}

    def write_clients(self, path: Path) -> Path:
        path.write_text(json.dumps({"clients": [{"iss": ISSUER, "jwks": self.jwks()}]}))
        return path

    def app_config(self, path: Path) -> dict[str, str]:
        """create_app settings for a service that trusts this EHR at the public URL ``BASE``."""
        return {"CDS_CLIENTS": str(self.write_clients(path)), "PUBLIC_BASE_URL": BASE}

    def token(self, audience: str = TRIAGE, alg: str = "ES384", jku: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": audience,
            "exp": now + 300,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "sub": "client-1",
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        key, kid = (self.ec, "ec-1") if alg == "ES384" else (self.rsa, "rsa-1")
        headers = {"kid": kid, **({"jku": jku} if jku else {})}
        return jwt.encode(payload, key, algorithm=alg, headers=headers)

    def header(self, audience: str = TRIAGE, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(audience, **kwargs)}"}
