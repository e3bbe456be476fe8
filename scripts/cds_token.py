#!/usr/bin/env python3
"""Play the EHR in a CDS Hooks trial: make a signing key, then sign a call's JWT.

    python scripts/cds_token.py keys --iss https://ehr.example.org --key ehr-key.pem --clients clients.json
    python scripts/cds_token.py token --iss https://ehr.example.org --key ehr-key.pem \\
        --aud https://cds.hospital.org/cds-services/buttock-pain-triage

``keys`` writes an ES384 private key (PEM) and the service's ``CDS_CLIENTS`` allowlist with the
public key as a JWKS (``kid`` ``ehr-1``). ``token`` prints a JWT as the CDS Hooks 2.0
specification asks: ``iss``, ``aud`` (the service URL called), ``exp`` (5 minutes), ``iat``,
``jti`` (fresh each time) and ``kid`` in the header. A real EHR signs with its own key.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KID = "ehr-1"
LIFETIME_SECONDS = 300


def make_keys(iss: str, key_path: Path, clients_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_path.write_bytes(pem)
    key_path.chmod(0o600)
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    clients = {"clients": [{"iss": iss, "jwks": {"keys": [{**jwk, "kid": KID, "alg": "ES384", "use": "sig"}]}}]}
    clients_path.write_text(json.dumps(clients, indent=2) + "\n")


def make_token(iss: str, key_path: Path, audience: str) -> str:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    now = int(time.time())
    claims = {"iss": iss, "aud": audience, "exp": now + LIFETIME_SECONDS, "iat": now, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": KID})  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("keys", help="write a signing key and the CDS_CLIENTS allowlist")
    keys.add_argument("--clients", type=Path, required=True)
    token = commands.add_parser("token", help="print a signed JWT for one call")
    token.add_argument("--aud", required=True, help="the full URL of the service called")
    for command in (keys, token):
        command.add_argument("--iss", required=True, help="the EHR's issuer URL")
        command.add_argument("--key", type=Path, required=True, help="the private key (PEM)")
    args = parser.parse_args()
    if args.command == "keys":
        make_keys(args.iss, args.key, args.clients)
    else:
        print(make_token(args.iss, args.key, args.aud))


if __name__ == "__main__":
    main()
