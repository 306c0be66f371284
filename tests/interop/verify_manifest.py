"""An independent manifest verifier, written from docs/manifest.md and
docs/ledger.md alone, with Python's standard library and `cryptography`.

Usage: verify_manifest.py MANIFEST FINGERPRINT
Prints "valid N records" and exits 0, or prints the first problem and
exits 1.
"""

import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def b64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def canonical(value):
    # RFC 8785 for what a ledger holds: strings, integers, nulls, objects.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fail(message):
    print(message)
    sys.exit(1)


def main(path, fingerprint):
    data = open(path, "rb").read()
    if not data.endswith(b"\n"):
        fail("the file does not end with a complete line")
    lines = data.split(b"\n")[:-1]
    if len(lines) < 2:
        fail("too short to be a manifest")
    header_line, records, trailer_line = lines[0], lines[1:-1], lines[-1]

    header = json.loads(header_line)
    if canonical(header) != header_line:
        fail("the header is not canonical")
    root = header["root"]
    thumbprint_input = canonical({"crv": root["crv"], "kty": root["kty"], "x": root["x"]})
    if hashlib.sha256(thumbprint_input).hexdigest() != fingerprint:
        fail("signed by another root")

    trailer = json.loads(trailer_line)
    if canonical(trailer) != trailer_line:
        fail("the trailer is not canonical")
    signature = trailer["signature"]
    digest = hashlib.sha256(header_line + b"\n").hexdigest()
    if signature["sha256"] != digest:
        fail("the header digest does not match")
    try:
        Ed25519PublicKey.from_public_bytes(b64(root["x"])).verify(
            b64(signature["sig"]), b"covenant/manifest/v1:" + digest.encode()
        )
    except InvalidSignature:
        fail("the root signature does not verify")

    prev = "0" * 64
    for n, line in enumerate(records):
        record = json.loads(line)
        if canonical(record) != line:
            fail(f"record {n}: not canonical")
        if record["seq"] != n or record["prev"] != prev:
            fail(f"record {n}: out of sequence")
        body = {k: v for k, v in record.items() if k != "hash"}
        if hashlib.sha256(canonical(body)).hexdigest() != record["hash"]:
            fail(f"record {n}: content does not match its hash")
        prev = record["hash"]
    if prev != header["head"] or len(records) != header["records"]:
        fail("the chain does not end at the signed head")
    print(f"valid {len(records)} records")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
