#!/bin/sh
# The worked example of docs/ehr-worked-example.md, end to end with curl: discovery, a signed
# patient-view call and a signed order-sign call. The service must run with
# PUBLIC_BASE_URL="$BASE" and CDS_CLIENTS naming the allowlist `cds_token.py keys` wrote.
#   BASE    the service's public base URL (default http://127.0.0.1:8080)
#   ISS     the EHR's issuer (default https://ehr.example.org)
#   KEY     the EHR's private key (default ehr-key.pem)
#   PYTHON  a Python with PyJWT and cryptography (default python3)
set -eu
BASE="${BASE:-http://127.0.0.1:8080}"
ISS="${ISS:-https://ehr.example.org}"
KEY="${KEY:-ehr-key.pem}"
PYTHON="${PYTHON:-python3}"
HERE="$(cd "$(dirname "$0")" && pwd)"
EXAMPLES="$HERE/../docs/examples"

call() {  # call SERVICE-ID EXAMPLE-FILE
    token="$("$PYTHON" "$HERE/cds_token.py" token --iss "$ISS" --key "$KEY" --aud "$BASE/cds-services/$1")"
    curl -sS --fail-with-body -X POST "$BASE/cds-services/$1" \
        -H "Authorization: Bearer $token" -H "Content-Type: application/json" --data-binary "@$2"
    echo
}

echo "== discovery"
curl -sS --fail-with-body "$BASE/cds-services"
echo
echo "== patient-view"
call buttock-pain-triage "$EXAMPLES/patient-view.json"
echo "== order-sign"
call buttock-pain-medication-safety "$EXAMPLES/order-sign.json"
