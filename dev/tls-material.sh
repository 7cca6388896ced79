#!/usr/bin/env bash
# Makes a throwaway certificate authority and a server certificate for the local TLS Redis (the
# stand-in for ElastiCache, which requires TLS), idempotently:
#
#   bash dev/tls-material.sh <dir>
#
# writes <dir>/ca.pem (what clients trust: CACHE_CA_FILE), <dir>/ca.key, <dir>/server.pem and
# <dir>/server.key (what redis-server presents; names localhost, 127.0.0.1 and ::1). Nothing is
# made again while every file exists and the certificates are valid for at least another day.
# <dir> is a run directory (never committed). Needs openssl.
set -euo pipefail

dir="${1:?usage: dev/tls-material.sh <dir>}"
mkdir -p "$dir"
chmod 700 "$dir"

valid() { # valid <cert>: exists and is good for another day
    [ -s "$1" ] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1
}

if valid "$dir/ca.pem" && valid "$dir/server.pem" && [ -s "$dir/server.key" ] && [ -s "$dir/ca.key" ]; then
    exit 0
fi

command -v openssl >/dev/null || { echo "bourse: cannot make TLS certificates: openssl is not installed" >&2; exit 1; }
tmp="$(mktemp -d "$dir/.new.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(
    umask 077
    cd "$tmp"
    # P-256 keys: what ElastiCache's own certificates and every TLS client handle.
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=Bourse local cache CA" -keyout ca.key -out ca.pem \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
        -extfile server.ext -out server.pem 2>/dev/null
    openssl verify -CAfile ca.pem server.pem >/dev/null
) || { echo "bourse: openssl could not make the local cache's TLS certificates" >&2; exit 1; }
chmod 644 "$tmp/ca.pem" "$tmp/server.pem"
# The server key is read by redis-server, which runs as this user.
for f in ca.key ca.pem server.key server.pem; do mv -f "$tmp/$f" "$dir/$f"; done
