#!/bin/sh
# Prints covenant's performance ratios, each against a reference measured
# in the same run on the same machine. See README.md, "Performance", and
# docs/performance-batch.md. Installs what the references need when it is
# missing: GNU time, openssl, and PyJWT with cryptography.
set -eu
cd "$(dirname "$0")/.."
missing=""
[ -x /usr/bin/time ] || missing="$missing time"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
if ! python3 -c 'import jwt, cryptography' 2>/dev/null && ! python3 -m pip --version >/dev/null 2>&1; then
    missing="$missing python3-pip"
fi
if [ -n "$missing" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if ! python3 -c 'import jwt, cryptography' 2>/dev/null; then
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
        --root-user-action=ignore -r tests/interop/requirements.txt
fi
cargo bench --locked --bench manifest_verify
cargo bench --locked --bench batch_mint
