"""The reference for covenant's batch minting: PyJWT with the
cryptography package signing the same claims with the same key, in one
Python process.

Usage: pyjwt_batch.py KEY.der ALG KID CLAIMS.json INPUTS.txt
CLAIMS.json is a list of claim objects, one per token; INPUTS.txt holds
covenant's signing input of each token (header.payload), one per line.
Only the loops are timed, best of three each:

- jwt.encode with a key object loaded once with cryptography (PyJWT at
  its fastest);
- jwt.encode given the PEM text on every call, as PyJWT's documentation
  shows it (PyJWT then parses the key for each token);
- the signature alone: cryptography's key.sign over each signing input,
  which is OpenSSL's signing plus one call from Python. What the first
  figure spends beyond this one is PyJWT's own work in Python (JSON,
  base64url, header checks), and it is this split that shows how much
  faster than PyJWT any signer can be.

Prints the seconds per token of each, on one line.
"""

import json
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_der_private_key,
)


def per_item(items, work):
    best = None
    for _ in range(3):
        start = time.perf_counter()
        for item in items:
            work(item)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best / len(items)


def signer(key, alg):
    """The bare signature PyJWT makes for ALG, as one call."""
    if alg == "ES256":
        scheme = ec.ECDSA(SHA256())
        return lambda data: key.sign(data, scheme)
    if alg == "EdDSA":
        return key.sign
    raise SystemExit(f"no bare signer for {alg}")


def main():
    key_path, alg, kid, claims_path, inputs_path = sys.argv[1:6]
    with open(key_path, "rb") as f:
        key = load_der_private_key(f.read(), password=None)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with open(claims_path) as f:
        batch = json.load(f)
    with open(inputs_path, "rb") as f:
        inputs = f.read().split(b"\n")
    headers = {"kid": kid}
    loaded = per_item(batch, lambda c: jwt.encode(c, key, algorithm=alg, headers=headers))
    each = per_item(batch, lambda c: jwt.encode(c, pem, algorithm=alg, headers=headers))
    bare = per_item(inputs, signer(key, alg))
    print(loaded, each, bare)


main()
