#!/bin/sh
# The main job on the shipped examples, with no prompt: build covenant,
# create a store from docs/examples/policy.toml, generate an ES256 key,
# mint the ACME Logistics token from its contract, and verify it against the
# published JWKS. The passphrase comes from a file here only because this is
# a demonstration; real ceremonies type it on the terminal.
set -eu
cd "$(dirname "$0")/../.."

cargo build --release --locked --quiet
covenant="$PWD/target/release/covenant"

work=$(mktemp -d "${TMPDIR:-/tmp}/covenant-quickstart.XXXXXX")
umask 077
printf 'quickstart passphrase, never for real keys\n' > "$work/passphrase"
export COVENANT_STORE="$work/store"

step() { printf '\n== %s\n' "$*" >&2; }

step "covenant init: a store with its policy, root key and ledger"
"$covenant" init --policy docs/examples/policy.toml --passphrase-file "$work/passphrase"

step "covenant key generate: the first signing key becomes active"
"$covenant" key generate --alg ES256 --passphrase-file "$work/passphrase"
"$covenant" key list

step "covenant jwks: what partners' gateways verify with"
"$covenant" jwks --out "$work/jwks.json"
cat "$work/jwks.json"

step "covenant mint: the token for docs/examples/acme-logistics.toml"
"$covenant" mint docs/examples/acme-logistics.toml \
    --passphrase-file "$work/passphrase" --out "$work/acme-logistics.jwt"

step "covenant verify: as a gateway would, with the JWKS only"
"$covenant" verify "@$work/acme-logistics.jwt" --jwks "$work/jwks.json" \
    --issuer https://issuer.example.com --audience https://api.example.com/partners

step "done; the store, JWKS and token are in $work"
