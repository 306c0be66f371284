"""Signs tokens with a Python JOSE library and a private key that covenant
generated, as an attacker or a careless issuer holding that key, or only
its public half, might: one well-formed token and one for each mistake or
attack that `covenant verify` must refuse.

usage: sign.py pyjwt|jwcrypto KEY_DER ALG KID PUBLIC_PEM CLAIMS_FILE

KEY_DER is the PKCS#8 key that `age` decrypted from covenant's store.
Prints a JSON object mapping each case to its compact token.
"""

import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# For each algorithm, one that the key's JWK does not name. RSA keys sign
# the other RSA algorithm with the same key; the others need a key of
# their own, which the library makes.
OTHER_ALG = {"ES256": "ES384", "ES384": "ES256", "EdDSA": "ES256", "RS256": "PS256", "PS256": "RS256"}
CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1}
CRIT = {"crit": ["urn:example:covenant"], "urn:example:covenant": True}


def other_key(alg, key):
    other = OTHER_ALG[alg]
    if other in CURVES:
        return other, ec.generate_private_key(CURVES[other]())
    return other, key


def expired(claims):
    # Expired one second after it started, long before the verifier's now.
    return dict(claims, exp=claims["nbf"] + 1)


def with_pyjwt(key, alg, kid, public_pem, claims):
    import jwt
    from jwt.algorithms import HMACAlgorithm

    class AnyBytesHMAC(HMACAlgorithm):
        # PyJWT refuses a public key in PEM, DER or JWK form as an HMAC
        # secret, its own guard against this attack. An attacker simply
        # removes the guard, as this does.
        def prepare_key(self, key):
            return key

    careless = jwt.PyJWS()
    careless.unregister_algorithm("HS256")
    careless.register_algorithm("HS256", AnyBytesHMAC(HMACAlgorithm.SHA256))

    def sign(claims, key, alg, **header):
        return jwt.encode(claims, key, algorithm=alg, headers=dict({"kid": kid}, **header))

    def hs256(claims, secret):
        payload = json.dumps(claims).encode()
        return careless.encode(payload, secret, algorithm="HS256", headers={"kid": kid})

    other, okey = other_key(alg, key)
    return {
        "good": sign(claims, key, alg),
        "wrong_kid": sign(claims, key, alg, kid="not-" + kid),
        "other_alg": sign(claims, okey, other),
        "hs256_public_key": hs256(claims, public_pem.encode()),
        "none": sign(claims, None, "none"),
        "expired": sign(expired(claims), key, alg),
        "crit": sign(claims, key, alg, **CRIT),
    }


def with_jwcrypto(key, alg, kid, public_pem, claims):
    from jwcrypto import jwk, jws
    from jwcrypto.common import JWSEHeaderParameter

    # jwcrypto refuses to sign a crit header it does not understand, so the
    # extension is registered as one it does.
    extension = {"urn:example:covenant": JWSEHeaderParameter("test extension", False, True, None)}

    def sign(claims, key, alg, **header):
        token = jws.JWS(json.dumps(claims).encode(), header_registry=extension)
        token.allowed_algs = [alg]
        protected = dict({"alg": alg, "kid": kid, "typ": "JWT"}, **header)
        token.add_signature(key, None, json.dumps(protected))
        return token.serialize(compact=True)

    own = jwk.JWK.from_pyca(key)
    other, okey = other_key(alg, key)
    return {
        "good": sign(claims, own, alg),
        "wrong_kid": sign(claims, own, alg, kid="not-" + kid),
        "other_alg": sign(claims, jwk.JWK.from_pyca(okey), other),
        "hs256_public_key": sign(claims, jwk.JWK.from_password(public_pem), "HS256"),
        # jwcrypto signs "none" only with an empty symmetric key.
        "none": sign(claims, jwk.JWK(kty="oct", k=""), "none"),
        "expired": sign(expired(claims), own, alg),
        "crit": sign(claims, own, alg, **CRIT),
    }


def main():
    library, der_path, alg, kid, pem_path, claims_path = sys.argv[1:]
    with open(der_path, "rb") as f:
        key = serialization.load_der_private_key(f.read(), password=None)
    with open(pem_path) as f:
        public_pem = f.read()
    with open(claims_path) as f:
        claims = json.load(f)
    sign = {"pyjwt": with_pyjwt, "jwcrypto": with_jwcrypto}[library]
    print(json.dumps(sign(key, alg, kid, public_pem, claims)))


main()
