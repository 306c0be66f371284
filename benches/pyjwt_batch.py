"""The reference for covenant's batch minting: PyJWT with the
cryptography package signing the same claims with the same key, in one
Python process.

Usage: pyjwt_batch.py KEY.der ALG KID CLAIMS.json
CLAIMS.json is a list of claim objects, one per token. The key is loaded
once; only the encode loop is timed, best of three. Prints the seconds per
token.
"""

import json
import sys
import time

import jwt
from cryptography.hazmat.primitives.serialization import load_der_private_key


def main():
    key_path, alg, kid, claims_path = sys.argv[1:5]
    with open(key_path, "rb") as f:
        key = load_der_private_key(f.read(), password=None)
    with open(claims_path) as f:
        batch = json.load(f)
    headers = {"kid": kid}
    best = None
    for _ in range(3):
        start = time.perf_counter()
        for claims in batch:
            jwt.encode(claims, key, algorithm=alg, headers=headers)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    print(best / len(batch))


main()
