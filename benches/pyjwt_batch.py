"""The reference for covenant's batch minting: PyJWT with the
cryptography package signing the same claims with the same key, in one
Python process.

Usage: pyjwt_batch.py KEY.der ALG KID CLAIMS.json
CLAIMS.json is a list of claim objects, one per token. Only the encode
loops are timed, best of three each, in the two ways a script hands PyJWT
its key:

- a key object loaded once with cryptography (PyJWT at its fastest);
- the PEM text on every call, as PyJWT's documentation shows it (PyJWT
  then parses the key for each token).

Prints the seconds per token of each, on one line.
"""

import json
import sys
import time

import jwt
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_der_private_key,
)


def per_token(batch, key, alg, headers):
    best = None
    for _ in range(3):
        start = time.perf_counter()
        for claims in batch:
            jwt.encode(claims, key, algorithm=alg, headers=headers)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best / len(batch)


def main():
    key_path, alg, kid, claims_path = sys.argv[1:5]
    with open(key_path, "rb") as f:
        key = load_der_private_key(f.read(), password=None)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with open(claims_path) as f:
        batch = json.load(f)
    headers = {"kid": kid}
    print(per_token(batch, key, alg, headers), per_token(batch, pem, alg, headers))


main()
