"""An independent verifier for tests/lifecycle.rs, written with PyJWT.

It shares no code with covenant: it reads the JWKS that `covenant jwks`
printed and the store's ledger as plain JSON lines, and says for each
token whether a gateway holding that JWKS and the ledger's revocations
would accept it.

Usage: lifecycle_verify.py JWKS LEDGER NOW ISSUER AUDIENCE LEEWAY TOKENS
TOKENS is a JSON object mapping each jti to the token text. The answer,
on stdout, maps each jti to valid, revoked, no-key, expired or invalid.
"""

import datetime
import json
import sys

import jwt
import jwt.api_jwt


def frozen_clock(now):
    """PyJWT reads datetime.now(); the scenario runs on simulated years."""

    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return now

    jwt.api_jwt.datetime = Frozen


def revocations(ledger_path):
    jtis, kids = set(), set()
    with open(ledger_path, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)["event"]
            # docs/ledger.md: an event is {"kind", "payload"}; earlier
            # ledgers put the payload's members beside "kind".
            payload = event.get("payload", event)
            if event["kind"] == "token.revoked":
                jtis.add(payload["jti"])
            elif event["kind"] == "key.revoked":
                kids.add(payload["kid"])
    return jtis, kids


def outcome(token, keys, revoked, issuer, audience, leeway):
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    revoked_jtis, revoked_kids = revoked
    if claims.get("jti") in revoked_jtis or header.get("kid") in revoked_kids:
        return "revoked"
    key = keys.get(header.get("kid"))
    if key is None:
        return "no-key"
    try:
        jwt.decode(
            token,
            key=key.key,
            algorithms=[key.algorithm_name],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        return "expired"
    except jwt.InvalidTokenError as e:
        return f"invalid: {e} (claims {claims})"
    return "valid"


def main():
    jwks_path, ledger, now, issuer, audience, leeway, tokens_path = sys.argv[1:]
    frozen_clock(datetime.datetime.fromisoformat(now.replace("Z", "+00:00")))
    with open(jwks_path, encoding="utf-8") as f:
        document = json.load(f)
    # PyJWKSet refuses an empty set, which is a legitimate JWKS here.
    keys = {}
    if document["keys"]:
        keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(document).keys}
    with open(tokens_path, encoding="utf-8") as f:
        tokens = json.load(f)
    revoked = revocations(ledger)
    result = {
        jti: outcome(token, keys, revoked, issuer, audience, int(leeway))
        for jti, token in tokens.items()
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
