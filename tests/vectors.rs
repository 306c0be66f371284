//! Published test vectors, checked through the same cryptography covenant
//! signs and verifies with: jsonwebtoken over covenant's ring provider.
//! Matching the RFCs' bytes shows covenant's signing input, base64url and
//! signature encodings are the ones every other implementation uses.
//!
//! The RFC 7515 tokens carry no `kid` and expired in 2011, so they are
//! checked at the signature level rather than through `covenant verify`.
//!
//! Covered: RFC 7515 A.1 (HS256, refused), A.2 (RS256), A.3 (ES256);
//! RFC 7517 A.1 (public keys), A.2 (private keys, refused as a JWKS);
//! RFC 7520 4.1 (RS256, signed to the exact bytes); RFC 7638 3.1
//! (thumbprint); RFC 8037 A.1 to A.5 (Ed25519). RFC 7518 defines the
//! algorithms these vectors exercise and publishes none of its own; the
//! RFC 7520 examples for PS384, ES512 and HS256 use algorithms covenant
//! does not support.

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
        audiences: None,
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

/// RFC 7520 section 3.4: the RSA private key of the JOSE cookbook,
/// "bilbo.baggins@hobbiton.example" (2048 bits).
const RFC7520_RSA_N: &str = "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw";
const RFC7520_RSA_E: &str = "AQAB";
const RFC7520_RSA_D: &str = "bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRldY7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOcOpBrQzwQ";
const RFC7520_RSA_P: &str = "3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmGpeNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k";
const RFC7520_RSA_Q: &str = "uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc";
const RFC7520_RSA_DP: &str = "B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik";
const RFC7520_RSA_DQ: &str = "CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJKbi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8";
const RFC7520_RSA_QI: &str = "3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDhjJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4";
/// RFC 7520 section 4.1: the protected header `{"alg":"RS256","kid":
/// "bilbo.baggins@hobbiton.example"}`, the payload of section 4 (a
/// sentence from Tolkien, not JSON), and the signature over them.
const RFC7520_RS256_HEADER: &str =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const RFC7520_PAYLOAD: &str = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
const RFC7520_RS256_SIGNATURE: &str = "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg";

/// RFC 7517 appendix A.1: a JWK Set of two public keys, an EC P-256 key
/// for encryption and an RSA key for RS256.
const RFC7517_EC_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
const RFC7517_EC_Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
const RFC7517_RSA_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
/// RFC 7517 appendix A.2: the private members of the same two keys.
const RFC7517_EC_D: &str = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE";
const RFC7517_RSA_D: &str = "X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7dx5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT0_YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywbReAdYaMwFs9tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk0GjskDJk19Z4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8Q";
/// RFC 7638 section 3.1: the thumbprint of the RFC 7517 A.1 RSA key, the
/// example key of both RFCs.
const RFC7638_RSA_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// RFC 7515 appendix A.1: an HS256 JWS over the A.2/A.3 payload, and the
/// RFC 7517 appendix A.3 symmetric key that made it.
const RFC7515_HS256_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
const RFC7515_HS256_SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC7515_HMAC_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

/// A DER TLV: `tag`, then the definite length, then `body`.
fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend(body);
    out
}

/// A positive DER INTEGER from big-endian bytes: a zero byte goes in front
/// when the high bit is set, so the value is not read as negative.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut body = if bytes[0] & 0x80 != 0 {
        vec![0]
    } else {
        Vec::new()
    };
    body.extend(bytes);
    der(0x02, &body)
}

/// The RFC 7520 RSA key as a PKCS#8 document (RFC 5208), the form
/// covenant seals and its provider loads: the RFC 8017 A.1.2
/// RSAPrivateKey inside a PrivateKeyInfo with the rsaEncryption OID.
fn rfc7520_rsa_pkcs8() -> Vec<u8> {
    let mut pkcs1 = der(0x02, &[0]);
    for member in [
        RFC7520_RSA_N,
        RFC7520_RSA_E,
        RFC7520_RSA_D,
        RFC7520_RSA_P,
        RFC7520_RSA_Q,
        RFC7520_RSA_DP,
        RFC7520_RSA_DQ,
        RFC7520_RSA_QI,
    ] {
        pkcs1.extend(der_uint(&decode(member)));
    }
    let pkcs1 = der(0x30, &pkcs1);
    // SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }
    const RSA_ENCRYPTION: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut info = der(0x02, &[0]);
    info.extend(RSA_ENCRYPTION);
    info.extend(der(0x04, &pkcs1));
    der(0x30, &info)
}

#[test]
fn rfc7520_4_1_rs256_signing_gives_exactly_the_published_signature() {
    // PKCS #1 v1.5 signatures are deterministic, so the same key and
    // input must give the RFC's bytes, not merely a valid signature.
    covenant::provider::install();
    let key = jsonwebtoken::EncodingKey::from_rsa_der(&rfc7520_rsa_pkcs8());
    let input = format!("{RFC7520_RS256_HEADER}.{RFC7520_PAYLOAD}");

    let signature = crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::RS256).unwrap();
    assert_eq!(signature, RFC7520_RS256_SIGNATURE);
}

#[test]
fn rfc7520_4_1_signature_verifies_with_the_cookbook_public_key_once_it_names_its_alg() {
    covenant::provider::install();
    // Section 3.3 publishes the key without "alg". covenant refuses that
    // for RSA, since the same key could then serve RS256 or PS256.
    let mut published = json!({
        "kty": "RSA", "kid": "bilbo.baggins@hobbiton.example", "use": "sig",
        "n": RFC7520_RSA_N, "e": RFC7520_RSA_E,
    });
    assert_eq!(
        Jwk::from_json(&published).unwrap_err(),
        "an RSA JWK must name its \"alg\" (RS256 or PS256)"
    );
    published["alg"] = json!("RS256");
    let key = covenant::verify::decoding_key(&jwk(published)).unwrap();
    let input = format!("{RFC7520_RS256_HEADER}.{RFC7520_PAYLOAD}");
    let alg = jsonwebtoken::Algorithm::RS256;

    assert!(crypto::verify(RFC7520_RS256_SIGNATURE, input.as_bytes(), &key, alg).unwrap());
    let forged = one_bit_off(RFC7520_RS256_SIGNATURE);
    assert!(!crypto::verify(&forged, input.as_bytes(), &key, alg).unwrap());
}

#[test]
fn rfc7517_a1_public_keys_parse_with_their_rfc7638_thumbprints() {
    let rsa = jwk(json!({
        "kty": "RSA", "n": RFC7517_RSA_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
    }));
    assert_eq!(rsa.alg, Algorithm::RS256);
    assert_eq!(rsa.kid, "2011-04-29");
    assert_eq!(rsa.key.kid(), RFC7638_RSA_THUMBPRINT);

    // The EC key is marked "use":"enc": an encryption key, which a
    // signature verifier must not accept. Its material parses once the
    // marking says what covenant uses keys for.
    let mut ec = json!({
        "kty": "EC", "crv": "P-256", "x": RFC7517_EC_X, "y": RFC7517_EC_Y,
        "use": "enc", "kid": "1",
    });
    assert_eq!(
        Jwk::from_json(&ec).unwrap_err(),
        "\"use\" is \"enc\", not \"sig\""
    );
    ec["use"] = json!("sig");
    let ec = jwk(ec);
    assert_eq!(ec.alg, Algorithm::ES256);
    assert_eq!(ec.kid, "1");
}

#[test]
fn rfc7517_a2_private_keys_are_refused_as_a_jwks() {
    // A JWKS is published; a private member in it is a leaked key, and
    // covenant names the member instead of quietly ignoring it.
    let private = json!({ "keys": [
        {
            "kty": "EC", "crv": "P-256", "x": RFC7517_EC_X, "y": RFC7517_EC_Y,
            "d": RFC7517_EC_D, "use": "sig", "kid": "1",
        },
        {
            "kty": "RSA", "n": RFC7517_RSA_N, "e": "AQAB", "d": RFC7517_RSA_D,
            "alg": "RS256", "kid": "2011-04-29",
        },
    ]});
    assert_eq!(
        covenant::jwk::parse_jwks(&private).unwrap_err(),
        "keys[0]: the JWK holds private key material (member \"d\"); publish public keys only"
    );
    let rsa_only = json!({ "keys": [private["keys"][1].clone()] });
    assert_eq!(
        covenant::jwk::parse_jwks(&rsa_only).unwrap_err(),
        "keys[0]: the JWK holds private key material (member \"d\"); publish public keys only"
    );
}

#[test]
fn rfc7515_a1_hs256_example_is_refused_by_covenants_provider() {
    covenant::provider::install();
    let secret = decode(RFC7515_HMAC_KEY);
    let input = format!("{RFC7515_HS256_HEADER}.{RFC7515_PAYLOAD}");
    // The vector is sound: HMAC-SHA256 with the RFC's key gives the RFC's
    // tag. covenant's provider nevertheless has no HMAC at all.
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret),
        input.as_bytes(),
    );
    assert_eq!(
        URL_SAFE_NO_PAD.encode(tag.as_ref()),
        RFC7515_HS256_SIGNATURE
    );

    let alg = jsonwebtoken::Algorithm::HS256;
    let decoding = jsonwebtoken::DecodingKey::from_secret(&secret).unwrap();
    let refused = crypto::verify(RFC7515_HS256_SIGNATURE, input.as_bytes(), &decoding, alg);
    assert_eq!(
        refused.unwrap_err().kind(),
        &jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
    );
    let encoding = jsonwebtoken::EncodingKey::from_secret(&secret).unwrap();
    let refused = crypto::sign(input.as_bytes(), &encoding, alg);
    assert_eq!(
        refused.unwrap_err().kind(),
        &jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
    );

    // The symmetric key cannot enter a JWKS, and the token is refused for
    // its algorithm before any key is looked up.
    let oct =
        json!({ "kty": "oct", "k": RFC7515_HMAC_KEY, "kid": "HMAC key used in JWS A.1 example" });
    assert_eq!(
        Jwk::from_json(&oct).unwrap_err(),
        "the JWK holds private key material (member \"k\"); publish public keys only"
    );
    let token = format!("{input}.{RFC7515_HS256_SIGNATURE}");
    let expect = covenant::verify::Expectations {
        audiences: None,
        issuer: None,
        leeway_seconds: 60,
        now: jiff::Timestamp::from_second(1300819000).unwrap(),
    };
    let rsa = jwk(json!({
        "kty": "RSA", "n": RFC7515_RSA_N, "e": RFC7515_RSA_E, "alg": "RS256", "kid": "2010-12-29",
    }));
    assert_eq!(
        covenant::verify::verify(&token, &[rsa], &expect).unwrap_err(),
        "alg \"HS256\" is symmetric; covenant accepts only asymmetric signatures"
    );
}
