//! Published test vectors, checked through the same cryptography covenant
//! signs and verifies with: jsonwebtoken over covenant's ring provider.
//! Matching the RFCs' bytes shows covenant's signing input, base64url and
//! signature encodings are the ones every other implementation uses.
//!
//! The RFC 7515 tokens carry no `kid` and expired in 2011, so they are
//! checked at the signature level rather than through `covenant verify`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use covenant::algorithm::Algorithm;
use covenant::jwk::Jwk;
use jsonwebtoken::crypto;
use serde_json::json;

/// RFC 8037 appendix A.1: the Ed25519 private key (the 32-byte seed) and
/// appendix A.2 its public key.
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 appendix A.3: the key's RFC 7638 thumbprint.
const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
/// RFC 8037 appendix A.4: `{"alg":"EdDSA"}` and "Example of Ed25519
/// signing", and the signature over them.
const RFC8037_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
const RFC8037_SIGNATURE: &str =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

/// RFC 7515 appendix A.2 and A.3 share this payload: `{"iss":"joe",
/// "exp":1300819380, "http://example.com/is_root":true}` with CRLFs.
const RFC7515_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

/// RFC 7515 appendix A.2: RS256, `{"alg":"RS256"}`.
const RFC7515_RS256_HEADER: &str = "eyJhbGciOiJSUzI1NiJ9";
const RFC7515_RSA_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const RFC7515_RSA_E: &str = "AQAB";
const RFC7515_RS256_SIGNATURE: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

/// RFC 7515 appendix A.3: ES256, `{"alg":"ES256"}`.
const RFC7515_ES256_HEADER: &str = "eyJhbGciOiJFUzI1NiJ9";
const RFC7515_EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const RFC7515_EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const RFC7515_ES256_SIGNATURE: &str =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// The DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410 section
/// 7): SEQUENCE { version 0, AlgorithmIdentifier { id-Ed25519 },
/// OCTET STRING { OCTET STRING (32 bytes) } }.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn decode(b64: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(b64).unwrap()
}

/// A public JWK as covenant reads it from a JWKS.
fn jwk(value: serde_json::Value) -> Jwk {
    Jwk::from_json(&value).unwrap()
}

/// The same signature with its lowest bit of the first byte flipped.
fn one_bit_off(signature: &str) -> String {
    let mut bytes = decode(signature);
    bytes[0] ^= 1;
    URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn rfc8037_a4_ed25519_signing_gives_exactly_the_published_signature() {
    covenant::provider::install();
    let mut pkcs8 = ED25519_PKCS8_PREFIX.to_vec();
    pkcs8.extend(decode(RFC8037_D));
    let key = jsonwebtoken::EncodingKey::from_ed_der(&pkcs8);

    let signature = crypto::sign(
        RFC8037_INPUT.as_bytes(),
        &key,
        jsonwebtoken::Algorithm::EdDSA,
    )
    .unwrap();
    assert_eq!(signature, RFC8037_SIGNATURE);
}

#[test]
fn rfc8037_a5_ed25519_signature_verifies_with_the_public_jwk_and_a_flipped_bit_does_not() {
    covenant::provider::install();
    let public = jwk(json!({
        "kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": RFC8037_THUMBPRINT,
    }));
    assert_eq!(public.alg, Algorithm::EdDSA);
    assert_eq!(public.key.kid(), RFC8037_THUMBPRINT);
    let key = covenant::verify::decoding_key(&public).unwrap();
    let alg = jsonwebtoken::Algorithm::EdDSA;

    assert!(crypto::verify(RFC8037_SIGNATURE, RFC8037_INPUT.as_bytes(), &key, alg).unwrap());
    let forged = one_bit_off(RFC8037_SIGNATURE);
    assert!(!crypto::verify(&forged, RFC8037_INPUT.as_bytes(), &key, alg).unwrap());
}

#[test]
fn rfc7515_a3_es256_signature_verifies_with_the_public_jwk_and_a_flipped_bit_does_not() {
    covenant::provider::install();
    let public = jwk(json!({
        "kty": "EC", "crv": "P-256", "x": RFC7515_EC_X, "y": RFC7515_EC_Y,
        "kid": "e9bc097a-ce51-4036-9562-d2ade882db0d",
    }));
    assert_eq!(public.alg, Algorithm::ES256);
    let key = covenant::verify::decoding_key(&public).unwrap();
    let input = format!("{RFC7515_ES256_HEADER}.{RFC7515_PAYLOAD}");
    let alg = jsonwebtoken::Algorithm::ES256;

    assert!(crypto::verify(RFC7515_ES256_SIGNATURE, input.as_bytes(), &key, alg).unwrap());
    let forged = one_bit_off(RFC7515_ES256_SIGNATURE);
    assert!(!crypto::verify(&forged, input.as_bytes(), &key, alg).unwrap());
    let mut other_input = input.into_bytes();
    other_input[0] ^= 1;
    assert!(!crypto::verify(RFC7515_ES256_SIGNATURE, &other_input, &key, alg).unwrap());
}

#[test]
fn rfc7515_a2_rs256_signature_verifies_with_the_public_jwk_and_a_flipped_bit_does_not() {
    covenant::provider::install();
    let public = jwk(json!({
        "kty": "RSA", "n": RFC7515_RSA_N, "e": RFC7515_RSA_E, "alg": "RS256",
        "kid": "2010-12-29",
    }));
    let key = covenant::verify::decoding_key(&public).unwrap();
    let input = format!("{RFC7515_RS256_HEADER}.{RFC7515_PAYLOAD}");
    let alg = jsonwebtoken::Algorithm::RS256;

    assert!(crypto::verify(RFC7515_RS256_SIGNATURE, input.as_bytes(), &key, alg).unwrap());
    let forged = one_bit_off(RFC7515_RS256_SIGNATURE);
    assert!(!crypto::verify(&forged, input.as_bytes(), &key, alg).unwrap());
    // The same key and signature under PS256 must not verify either: the
    // padding is part of the algorithm.
    assert!(
        !crypto::verify(
            RFC7515_RS256_SIGNATURE,
            input.as_bytes(),
            &key,
            jsonwebtoken::Algorithm::PS256
        )
        .unwrap()
    );
}

#[test]
fn rfc7515_tokens_are_refused_by_covenant_verify_for_lacking_a_kid() {
    // The A.3 token is correctly signed, but covenant chooses keys by kid
    // only, so a token without one is refused before any signature check.
    let public = jwk(json!({
        "kty": "EC", "crv": "P-256", "x": RFC7515_EC_X, "y": RFC7515_EC_Y, "kid": "a3",
    }));
    let token = format!("{RFC7515_ES256_HEADER}.{RFC7515_PAYLOAD}.{RFC7515_ES256_SIGNATURE}");
    let expect = covenant::verify::Expectations {
        audience: None,
        issuer: None,
        leeway_seconds: 60,
        now: jiff::Timestamp::from_second(1300819000).unwrap(),
    };
    let reason = covenant::verify::verify(&token, &[public], &expect).unwrap_err();
    assert_eq!(
        reason,
        "the header has no kid; covenant needs it to choose the key"
    );
}
