#!/bin/sh
# The test command: install the third-party tools the interoperability
# tests check covenant against, where they are missing, then run every test.
# Safe to run again: each step is skipped when its tool is already there.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'tests/run.sh: %s\n' "$*" >&2; }
python_modules_present() { python3 -c 'import jwt, jwcrypto, cryptography' 2>/dev/null; }

# Debian packages: age and openssl read covenant's key files, node and npm
# run the jose verifier, pip installs the Python verifiers, and tmux is the
# terminal the ceremony tests type into.
missing=""
command -v age >/dev/null 2>&1 || missing="$missing age"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if ! python_modules_present && ! python3 -m pip --version >/dev/null 2>&1; then
    missing="$missing python3-pip"
fi
if [ -n "$missing" ]; then
    say "installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# Python verifiers. A Debian Python refuses pip installs into its own
# site-packages unless told that this machine is a disposable test box.
if ! python_modules_present; then
    say "installing PyJWT, jwcrypto and cryptography"
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
        --root-user-action=ignore -r tests/interop/requirements.txt
fi

# node jose, at the version pinned in tests/interop/package-lock.json.
if ! npm ls --prefix tests/interop jose >/dev/null 2>&1; then
    say "installing node jose"
    npm ci --prefix tests/interop --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# cargo's last summary is the doc tests', often empty; end with the totals
# over every test binary instead. POSIX sh has no pipefail, so the exit
# status travels through a file.
log=$(mktemp)
trap 'rm -f "$log" "$log.status"' EXIT
{ cargo test --locked --no-fail-fast --features test-hooks 2>&1; echo $? >"$log.status"; } | tee "$log"
awk '/^test result:/ { passed += $4; failed += $6 }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
status=$(cat "$log.status" 2>/dev/null || true)
exit "${status:-1}"
