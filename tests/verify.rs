//! `covenant verify` against hostile tokens. Each token here is built by
//! hand, most of them correctly signed by the key the JWKS publishes, so
//! that the only thing wrong with it is the one thing the test names.
//! Verification that ran and said no exits with status 1.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{AUDIENCE, ISSUER, Workspace, claims, example};
use covenant::algorithm::Algorithm;
use covenant::jwk::{self, Jwk};
use covenant::key::{self, SigningKey};
use serde_json::{Value, json};

/// 2026-12-01T00:00:00Z and 2029-12-01T00:00:00Z, the ACME contract.
const NBF: i64 = 1796083200;
const EXP: i64 = 1890777600;

/// A key, the JWKS that publishes it, and a workspace to verify in.
struct Issuer {
    ws: Workspace,
    signer: SigningKey,
    jwks: std::path::PathBuf,
}

impl Issuer {
    fn new() -> Issuer {
        Issuer::with_alg(Algorithm::ES256)
    }

    fn with_alg(alg: Algorithm) -> Issuer {
        covenant::provider::install();
        let pkcs8 = key::generate(alg, 0).unwrap();
        let jwk = Jwk::new(key::public_key(alg, &pkcs8).unwrap(), alg);
        let signer = SigningKey::new(&jwk, &pkcs8).unwrap();
        let mut ws = Workspace::new();
        ws.set_now("2027-03-15T12:00:00Z");
        let jwks = ws.write("jwks.json", &jwk::jwks(&[jwk]).to_string());
        Issuer { ws, signer, jwks }
    }

    fn kid(&self) -> &str {
        &self.signer.jwk().kid
    }

    fn header(&self) -> Value {
        json!({ "alg": self.signer.jwk().alg.name(), "typ": "JWT", "kid": self.kid() })
    }

    fn claims(&self) -> Value {
        json!({
            "iss": ISSUER,
            "sub": "acme-logistics",
            "aud": AUDIENCE,
            "iat": 1780272000,
            "nbf": NBF,
            "exp": EXP,
            "jti": "l2ZkqO7i1o2xvGqIh2n6Pw",
            "scope": "shipments:read invoices:read",
        })
    }

    /// A compact JWS of exactly these header and claims texts, signed
    /// with the published key.
    fn sign_texts(&self, header: &str, claims: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let signature = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            self.signer.encoding_key(),
            self.signer.jwk().alg.to_jsonwebtoken(),
        )
        .unwrap();
        format!("{input}.{signature}")
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_texts(&header.to_string(), &claims.to_string())
    }

    /// Verifies the way a gateway would: the JWKS file, the issuer and
    /// the audience given explicitly.
    fn verify(&self, token: &str) -> common::Run {
        self.verify_expecting(token, ISSUER, AUDIENCE)
    }

    fn verify_expecting(&self, token: &str, issuer: &str, audience: &str) -> common::Run {
        let token_file = self.ws.write("token.jwt", token);
        self.ws
            .covenant(&[
                "verify",
                "--issuer",
                issuer,
                "--audience",
                audience,
                "--jwks",
            ])
            .arg(&self.jwks)
            .arg(format!("@{}", token_file.display()))
            .run()
    }

    /// Verifies and expects a rejection; returns the reason.
    #[track_caller]
    fn rejects(&self, token: &str) -> String {
        self.verify(token).fails(1).to_string()
    }
}

fn b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn a_well_formed_token_signed_by_the_published_key_verifies() {
    let issuer = Issuer::new();
    let token = issuer.sign(&issuer.header(), &issuer.claims());
    let run = issuer.verify(&token);
    assert_eq!(
        serde_json::from_str::<Value>(run.ok()).unwrap(),
        issuer.claims()
    );
    assert_eq!(
        run.stderr,
        format!(
            "covenant: valid: signed by {} (ES256), expires 2029-12-01T00:00:00Z\n",
            issuer.kid()
        )
    );
}

#[test]
fn a_tampered_payload_breaks_the_signature() {
    let issuer = Issuer::new();
    let token = issuer.sign(&issuer.header(), &issuer.claims());
    let mut wider = issuer.claims();
    wider["scope"] = json!("shipments:read shipments:write invoices:read");
    let parts: Vec<_> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], b64(&wider.to_string()), parts[2]);
    assert_eq!(
        issuer.rejects(&forged),
        format!(
            "covenant: token rejected: the signature does not verify with key {}",
            issuer.kid()
        )
    );
}

#[test]
fn the_wrong_audience_or_issuer_is_rejected() {
    let issuer = Issuer::new();
    let token = issuer.sign(&issuer.header(), &issuer.claims());
    let run = issuer.verify_expecting(&token, ISSUER, "https://api.example.com/internal");
    assert_eq!(
        run.fails(1),
        "covenant: token rejected: aud is \"https://api.example.com/partners\", \
         expected \"https://api.example.com/internal\""
    );
    let run = issuer.verify_expecting(&token, "https://issuer.evil.example", AUDIENCE);
    assert_eq!(
        run.fails(1),
        "covenant: token rejected: iss is \"https://issuer.example.com\", \
         expected \"https://issuer.evil.example\""
    );
}

#[test]
fn an_expired_token_is_rejected_once_the_leeway_has_passed() {
    let mut issuer = Issuer::new();
    let token = issuer.sign(&issuer.header(), &issuer.claims());

    issuer.ws.set_now("2029-12-01T00:01:00Z");
    issuer.verify(&token).ok();
    issuer.ws.set_now("2029-12-01T00:01:01Z");
    assert_eq!(
        issuer.rejects(&token),
        "covenant: token rejected: the token expired at 2029-12-01T00:00:00Z \
         (it is now 2029-12-01T00:01:01Z)"
    );
}

#[test]
fn a_token_before_its_start_is_rejected() {
    let mut issuer = Issuer::new();
    let token = issuer.sign(&issuer.header(), &issuer.claims());
    issuer.ws.set_now("2026-11-30T23:58:59Z");
    assert_eq!(
        issuer.rejects(&token),
        "covenant: token rejected: the token is not valid before 2026-12-01T00:00:00Z \
         (it is now 2026-11-30T23:58:59Z)"
    );
}

#[test]
fn alg_none_is_rejected_as_unsigned() {
    let issuer = Issuer::new();
    let header = json!({ "alg": "none", "typ": "JWT", "kid": issuer.kid() });
    let token = format!(
        "{}.{}.",
        b64(&header.to_string()),
        b64(&issuer.claims().to_string())
    );
    assert_eq!(
        issuer.rejects(&token),
        "covenant: token rejected: alg \"none\" means unsigned; refused"
    );
}

#[test]
fn hs256_keyed_with_the_public_key_is_rejected() {
    let issuer = Issuer::new();
    let header = json!({ "alg": "HS256", "typ": "JWT", "kid": issuer.kid() });
    let input = format!(
        "{}.{}",
        b64(&header.to_string()),
        b64(&issuer.claims().to_string())
    );
    // The classic confusion attack: the public key, which anyone has,
    // used as the HMAC secret.
    let public = std::fs::read(&issuer.jwks).unwrap();
    let secret = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &public);
    let tag = ring::hmac::sign(&secret, input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    assert_eq!(
        issuer.rejects(&token),
        "covenant: token rejected: alg \"HS256\" is symmetric; \
         covenant accepts only asymmetric signatures"
    );
}

#[test]
fn a_kid_missing_from_the_jwks_is_rejected() {
    let issuer = Issuer::new();
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": "retired-key" });
    let token = issuer.sign(&header, &issuer.claims());
    assert_eq!(
        issuer.rejects(&token),
        "covenant: token rejected: kid \"retired-key\" is not in the JWKS"
    );
}

#[test]
fn headers_that_point_at_other_keys_or_demand_extensions_are_rejected() {
    let issuer = Issuer::new();
    let cases = [
        (
            "jku",
            json!("https://evil.example/jwks.json"),
            "it points at a key to fetch, and covenant trusts only its JWKS",
        ),
        (
            "x5u",
            json!("https://evil.example/cert.pem"),
            "it points at a key to fetch, and covenant trusts only its JWKS",
        ),
        (
            "jwk",
            issuer.signer.jwk().to_json(),
            "it embeds a key, and covenant trusts only its JWKS",
        ),
        (
            "crit",
            json!(["exp"]),
            "it marks extensions as critical, and covenant implements none",
        ),
    ];
    for (name, value, why) in cases {
        let mut header = issuer.header();
        header[name] = value;
        let token = issuer.sign(&header, &issuer.claims());
        assert_eq!(
            issuer.rejects(&token),
            format!("covenant: token rejected: the header has a \"{name}\" member: {why}")
        );
    }
}

#[test]
fn a_claim_named_twice_is_rejected_even_when_signed() {
    // Parsers disagree on repeated names: some keep the first, some the
    // last. jsonwebtoken refuses a repeated registered claim while reading
    // it; covenant's strict parser refuses any other repeated name.
    let issuer = Issuer::new();
    let claims = issuer.claims().to_string();
    let cases = [
        (
            "\"aud\":",
            "\"aud\":\"https://api.example.com/internal\",\"aud\":",
            "the token does not verify: JSON error: duplicate field `aud` at line 1 column 47",
        ),
        (
            "\"scope\":",
            "\"scope\":\"shipments:write\",\"scope\":",
            "the claims is not valid JSON: member \"scope\" appears twice at line 1 column 223",
        ),
    ];
    for (from, to, reason) in cases {
        let doubled = claims.replacen(from, to, 1);
        let token = issuer.sign_texts(&issuer.header().to_string(), &doubled);
        assert_eq!(
            issuer.rejects(&token),
            format!("covenant: token rejected: {reason}")
        );
    }
}

#[test]
fn exp_as_a_float_or_a_string_is_rejected() {
    let issuer = Issuer::new();
    for (exp, shown) in [
        (json!(1890777600.0), "1890777600.0"),
        (json!("1890777600"), "\"1890777600\""),
    ] {
        let mut claims = issuer.claims();
        claims["exp"] = exp;
        let token = issuer.sign(&issuer.header(), &claims);
        assert_eq!(
            issuer.rejects(&token),
            format!("covenant: token rejected: exp must be an integer NumericDate, not {shown}")
        );
    }
}

#[test]
fn an_ecdsa_signature_in_der_form_is_rejected() {
    // Sign the same input with the same key, but encode the signature as
    // ASN.1 DER instead of JWS's fixed-size r||s (RFC 7518 section 3.4).
    covenant::provider::install();
    let alg = Algorithm::ES256;
    let pkcs8 = key::generate(alg, 0).unwrap();
    let jwk = Jwk::new(key::public_key(alg, &pkcs8).unwrap(), alg);
    let mut ws = Workspace::new();
    ws.set_now("2027-03-15T12:00:00Z");
    let jwks = ws.write(
        "jwks.json",
        &jwk::jwks(std::slice::from_ref(&jwk)).to_string(),
    );
    let rng = ring::rand::SystemRandom::new();
    let der_signer = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        pkcs8.der(),
        &rng,
    )
    .unwrap();
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": jwk.kid });
    let claims = json!({ "iss": ISSUER, "aud": AUDIENCE, "nbf": NBF, "exp": EXP });
    let input = format!("{}.{}", b64(&header.to_string()), b64(&claims.to_string()));
    let der = der_signer.sign(&rng, input.as_bytes()).unwrap();
    assert_eq!(der.as_ref()[0], 0x30, "a DER SEQUENCE");
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(der.as_ref()));

    let run = ws
        .covenant(&[
            "verify",
            "--issuer",
            ISSUER,
            "--audience",
            AUDIENCE,
            "--jwks",
        ])
        .arg(&jwks)
        .arg("-")
        .stdin(token.as_bytes())
        .run();
    assert_eq!(
        run.fails(1),
        format!(
            "covenant: token rejected: the signature does not verify with key {}",
            jwk.kid
        )
    );
}

#[test]
fn a_kid_naming_another_published_key_is_rejected() {
    // Key B signs, but the header names key A; both are in the JWKS. A
    // verifier that tried every key, or trusted the signer it found,
    // would accept a token that B's holder passes off as A's.
    let issuer = Issuer::new();
    let other = Issuer::new();
    let both = [issuer.signer.jwk().clone(), other.signer.jwk().clone()];
    issuer.ws.write("jwks.json", &jwk::jwks(&both).to_string());

    let token = other.sign(&issuer.header(), &issuer.claims());
    assert_eq!(
        issuer.rejects(&token),
        format!(
            "covenant: token rejected: the signature does not verify with key {}",
            issuer.kid()
        )
    );
    // The same token naming its real signer verifies: the JWKS is sound,
    // only the kid was false.
    let honest = other.sign(&other.header(), &issuer.claims());
    issuer.verify(&honest).ok();
}

/// The order n of the base point of P-256 and P-384 (SEC 2, sections
/// 2.4.2 and 2.5.1), big-endian.
const P256_ORDER: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const P384_ORDER: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf\
                          581a0db248b0a77aecec196accc52973";

#[test]
fn ecdsa_signatures_with_r_or_s_zero_or_equal_to_the_group_order_are_rejected() {
    // ECDSA requires 0 < r, s < n (SEC 1, section 4.1.4, step 1). A
    // verifier that skips the check can be fooled: with r = s = 0 some
    // implementations accept any message for any key (CVE-2022-21449).
    for (alg, order) in [
        (Algorithm::ES256, P256_ORDER),
        (Algorithm::ES384, P384_ORDER),
    ] {
        let issuer = Issuer::with_alg(alg);
        let token = issuer.sign(&issuer.header(), &issuer.claims());
        issuer.verify(&token).ok();

        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let half = signature.len() / 2;
        let (r, s) = signature.split_at(half);
        let zero = vec![0; half];
        let n = hex::decode(order).unwrap();
        assert_eq!(n.len(), half);
        let cases = [
            ("r = 0", [&zero[..], s]),
            ("s = 0", [r, &zero[..]]),
            ("r = s = 0", [&zero[..], &zero[..]]),
            ("r = n", [&n[..], s]),
            ("s = n", [r, &n[..]]),
            ("r = s = n", [&n[..], &n[..]]),
        ];
        for (what, [r, s]) in cases {
            let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode([r, s].concat()));
            assert_eq!(
                issuer.rejects(&forged),
                format!(
                    "covenant: token rejected: the signature does not verify with key {}",
                    issuer.kid()
                ),
                "{alg} with {what}"
            );
        }
    }
}

/// A workspace whose clock is `now`, with a store and an ES256 key.
fn store_at(now: &str) -> Workspace {
    let mut ws = Workspace::new();
    ws.set_now(now);
    ws.covenant(&["init", "--policy"])
        .arg(example("policy.toml"))
        .passphrase()
        .run()
        .ok();
    ws.covenant(&["key", "generate", "--alg", "ES256"])
        .passphrase()
        .run()
        .ok();
    ws
}

fn contract(ws: &Workspace, start: &str, end: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example("acme-logistics.toml"))
        .unwrap()
        .replace("start = 2026-12-01", &format!("start = {start}"))
        .replace("end = 2029-12-01", &format!("end = {end}"));
    ws.write("contract.toml", &text)
}

#[test]
fn a_token_expiring_after_2038_verifies_and_mint_warns_naming_the_date() {
    let mut ws = store_at("2037-01-01T00:00:00Z");
    let contract = contract(&ws, "2037-06-01", "2039-06-01");
    let run = ws.covenant(&["mint"]).arg(&contract).passphrase().run();
    let token = run.ok().trim().to_string();
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        format!(
            "covenant: warning: {}: exp 2190499200 (2039-06-01T00:00:00Z) is after \
             2038-01-19T03:14:07Z; verifiers that store exp as a signed 32-bit number \
             will misread it",
            contract.display()
        )
    );
    assert_eq!(claims(&token)["exp"], json!(2190499200_i64));

    ws.set_now("2038-06-01T00:00:00Z");
    let run = ws
        .covenant(&["verify", "-", "--audience", AUDIENCE])
        .stdin(token.as_bytes())
        .run();
    assert!(!run.ok().is_empty());
    assert!(
        run.stderr.contains("expires 2039-06-01T00:00:00Z"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_token_expiring_in_the_year_9999_verifies() {
    let mut ws = store_at("9998-06-01T00:00:00Z");
    let contract = contract(&ws, "9998-12-01", "9999-12-01");
    let token = ws
        .covenant(&["mint"])
        .arg(&contract)
        .passphrase()
        .run()
        .ok()
        .trim()
        .to_string();
    assert_eq!(claims(&token)["exp"], json!(253399622400_i64));

    ws.set_now("9999-06-01T00:00:00Z");
    let run = ws
        .covenant(&["verify", "-", "--json", "--audience", AUDIENCE])
        .stdin(token.as_bytes())
        .run();
    let doc: Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["claims"]["exp"], json!(253399622400_i64));
}

#[test]
fn a_rejection_with_json_says_why_on_stdout_too() {
    let issuer = Issuer::new();
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": "retired-key" });
    let token = issuer.sign(&header, &issuer.claims());
    let token_file = issuer.ws.write("token.jwt", &token);
    let run = issuer
        .ws
        .covenant(&[
            "verify",
            "--json",
            "--issuer",
            ISSUER,
            "--audience",
            AUDIENCE,
        ])
        .arg("--jwks")
        .arg(&issuer.jwks)
        .arg(format!("@{}", token_file.display()))
        .run();
    assert_eq!(
        run.fails(1),
        "covenant: token rejected: kid \"retired-key\" is not in the JWKS"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&run.stdout).unwrap(),
        json!({ "valid": false, "reason": "kid \"retired-key\" is not in the JWKS" })
    );
}
