#!/usr/bin/env bash
# Makes a new Ed25519 signing key for access tokens, stores its private key in Secrets Manager
# and prints the stack parameters that use it. The private key exists only in a temporary
# directory of this run (removed at exit) and in the secret.
#
#   bash dev/keys.sh new [--kid KID] [--secret-prefix bourse/jwt-signing-key]
#                        [--public-keys '<the stack's current JwtPublicKeys>']
#                        [--region REGION] [--endpoint-url URL]
#
# Without --public-keys (a first deploy) it prints the three parameters to deploy with. With the
# current JwtPublicKeys (a rotation) it prints the three deploys of a rotation with kid overlap:
#   1. publish: every function learns the new public key; auth still signs with the old one;
#   2. switch:  auth signs with the new key (its own secret, so old instances keep signing with
#               the old key, which every verifier still accepts);
#   3. retire:  after the longest access-token lifetime (15 minutes) and a margin, drop the old key.
#
# Credentials and region come from the usual AWS environment (AWS_PROFILE, AWS_REGION, ...).
# --endpoint-url points at another Secrets Manager (the local emulator). Needs openssl and the
# Python tools of dev/install.sh (boto3).
set -euo pipefail

DEV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/env.sh
source "$DEV_DIR/env.sh"

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ "${1:-}" = new ] || usage
shift
kid="$(date -u +%Y-%m-%d)"
prefix="bourse/jwt-signing-key"
public_keys=""
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
endpoint=""
while [ $# -gt 0 ]; do
    case "$1" in
        --kid) kid="${2:?}"; shift 2 ;;
        --secret-prefix) prefix="${2:?}"; shift 2 ;;
        --public-keys) public_keys="${2:?}"; shift 2 ;;
        --region) region="${2:?}"; shift 2 ;;
        --endpoint-url) endpoint="${2:?}"; shift 2 ;;
        *) usage ;;
    esac
done
[[ "$kid" =~ ^[A-Za-z0-9._-]{1,64}$ ]] || { echo "bourse: --kid must be 1 to 64 of A-Z a-z 0-9 . _ -" >&2; exit 2; }
[ -n "$region" ] || { echo "bourse: no region: set AWS_REGION or pass --region" >&2; exit 2; }
[ -x "$BOURSE_TOOLS_DIR/venv/bin/python" ] || bash "$DEV_DIR/install.sh" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(umask 077 && openssl genpkey -algorithm ed25519 -out "$work/key.pem") || { echo "bourse: openssl could not make a key" >&2; exit 1; }
private_der_b64="$(openssl pkey -in "$work/key.pem" -outform DER | base64 -w0)"
public_b64="$(openssl pkey -in "$work/key.pem" -pubout -outform DER | tail -c 32 | base64 -w0)"

KID="$kid" SECRET="$prefix/$kid" PRIVATE_KEY="$private_der_b64" PUBLIC_KEY="$public_b64" \
    CURRENT_KEYS="$public_keys" REGION="$region" ENDPOINT="$endpoint" \
    "$BOURSE_TOOLS_DIR/venv/bin/python" - <<'EOF'
import json, os, sys
import boto3

kid, secret, public = os.environ["KID"], os.environ["SECRET"], os.environ["PUBLIC_KEY"]
current = os.environ["CURRENT_KEYS"].strip()
try:
    current_keys = json.loads(current) if current else {}
    assert isinstance(current_keys, dict) and all(isinstance(v, str) for v in current_keys.values())
except (ValueError, AssertionError):
    sys.exit("bourse: --public-keys must be the stack's JwtPublicKeys: a JSON object of key id to public key")
if kid in current_keys:
    sys.exit(f"bourse: key id {kid} is already in use; pass another --kid")

client = boto3.client("secretsmanager", region_name=os.environ["REGION"], endpoint_url=os.environ["ENDPOINT"] or None)
try:
    client.create_secret(
        Name=secret,
        Description=f"Bourse access-token signing key {kid} (Ed25519, PKCS#8 DER, base64)",
        SecretString=json.dumps({"privateKey": os.environ["PRIVATE_KEY"]}),
    )
except client.exceptions.ResourceExistsException:
    sys.exit(f"bourse: secret {secret} exists already (a key with id {kid}); pass another --kid")
except Exception as err:  # credentials, permissions, network: say which, without a traceback
    sys.exit(f"bourse: cannot create secret {secret}: {err}")

def params(keys, signing_kid, signing_secret):
    return (f"JwtSigningKeySecret={signing_secret} JwtSigningKid={signing_kid} "
            f"JwtPublicKeys='{json.dumps(keys, separators=(',', ':'))}'")

print(f"created secret {secret}; the private key is stored nowhere else")
if not current_keys:
    print("\ndeploy with (sam deploy --parameter-overrides ..., with your other overrides):")
    print("  " + params({kid: public}, kid, secret))
else:
    both = dict(current_keys, **{kid: public})
    print("\nrotation, three deploys (sam deploy --parameter-overrides ..., with your other overrides):")
    print("  1. publish the new public key; keep JwtSigningKeySecret and JwtSigningKid as they are:")
    print(f"       JwtPublicKeys='{json.dumps(both, separators=(',', ':'))}'")
    print("  2. switch signing to the new key:")
    print("       " + params(both, kid, secret))
    print("  3. at least 15 minutes after step 2 (the access-token lifetime), retire the old keys:")
    print("       " + params({kid: public}, kid, secret))
    print("     then delete the old key's secret.")
EOF
