//! `covenant verify` reads tokens from anyone: every input must be
//! accepted or rejected with a reason, never panic.
#![no_main]

use std::sync::OnceLock;

use covenant::jwk::{self, Jwk};
use covenant::verify::{Expectations, verify};
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static Vec<Jwk> {
    static KEYS: OnceLock<Vec<Jwk>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let jwks = serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "ec",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            // The key of the seed token in fuzz/corpus/verify, so that
            // mutations of it reach the signature and claim checks.
            {"kty": "OKP", "crv": "Ed25519", "kid": "izK5rmeshadlUW0KyXR-3Axq2JLCPsHLMyxiFAsN7Ag",
             "x": "SHVTALUU30RhJsGqSnvjxrA9_jYKqXqRcnDFKS6dZ8I"}
        ]});
        jwk::parse_jwks(&jwks).expect("the fixed JWKS parses")
    })
}

fuzz_target!(|bytes: &[u8]| {
    covenant::provider::install();
    let Ok(token) = std::str::from_utf8(bytes) else { return };
    let expect = Expectations {
        audiences: Some(vec!["https://api.example.com/partners".into()]),
        issuer: Some("https://issuer.example.com".into()),
        leeway_seconds: 60,
        now: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
    };
    let _ = verify(token, keys(), &expect);
});
