"""Verifies a covenant token with a Python JOSE library, as a partner's
gateway would: only the JWKS, the expected issuer and the expected audience.

usage: verify.py pyjwt|jwcrypto JWKS_FILE TOKEN_FILE ISSUER AUDIENCE

Prints the verified claims as JSON and exits 0, or prints the library's
reason and exits 1.
"""

import json
import sys


def with_pyjwt(jwks_text, token, issuer, audience):
    import jwt

    keys = jwt.PyJWKSet.from_json(jwks_text)
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    return jwt.decode(
        token,
        key.key,
        algorithms=[key.algorithm_name],
        issuer=issuer,
        audience=audience,
        options={"require": ["exp", "nbf", "iat", "iss", "aud"]},
    )


def with_jwcrypto(jwks_text, token, issuer, audience):
    from jwcrypto import jwk, jwt

    keys = jwk.JWKSet.from_json(jwks_text)
    alg = json.loads(jwks_text)["keys"][0]["alg"]
    checked = jwt.JWT(
        jwt=token,
        key=keys,
        algs=[alg],
        expected_type="JWS",
        check_claims={"iss": issuer, "aud": audience, "exp": None, "nbf": None},
    )
    return json.loads(checked.claims)


def main():
    library, jwks_path, token_path, issuer, audience = sys.argv[1:]
    with open(jwks_path) as f:
        jwks_text = f.read()
    with open(token_path) as f:
        token = f.read().strip()
    verify = {"pyjwt": with_pyjwt, "jwcrypto": with_jwcrypto}[library]
    try:
        claims = verify(jwks_text, token, issuer, audience)
    except Exception as e:  # every library error means "rejected"
        print(f"{library} rejected the token: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(claims, sort_keys=True))


main()
