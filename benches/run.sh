#!/bin/sh
# Prints covenant's performance ratios, each against a reference measured
# in the same run on the same machine. See README.md, "Performance".
set -eu
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/time ]; then
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
cargo bench --locked --bench manifest_verify
