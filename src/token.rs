//! Minting: a checked contract and an unlocked key become a signed JWT.
//!
//! The header is `{alg, typ: "JWT", kid}` and nothing else: no `jku`,
//! `x5u` or `jwk` that would tell a verifier to fetch or trust a key from
//! somewhere else. The claims are the contract's and nothing more:
//! `iss` from the policy, `sub` (the partner), one `aud`, `iat`, `nbf` and
//! `exp` as integer NumericDates, a random `jti`, the space-separated
//! `scope`, a `contract` object binding the token to the contract file's
//! digest, and the contract's `[claims]`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::contract::Contract;
use crate::key::SigningKey;
use crate::store::sha256_hex;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: &'a str,
    scope: String,
    contract: ContractClaim<'a>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct ContractClaim<'a> {
    id: &'a str,
    sha256: &'a str,
}

/// A freshly signed token and what the ledger records of it.
pub struct Minted {
    /// The compact JWS. A bearer secret: wiped from memory when dropped.
    pub token: Zeroizing<String>,
    pub jti: String,
    pub iat: Timestamp,
    /// SHA-256 of the token's ASCII bytes, lowercase hex.
    pub sha256: String,
}

/// A fresh `jti`: 128 random bits, base64url.
pub fn new_jti(rng: &SystemRandom) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes)
        .expect("the system random generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs the token for `contract` with `key` at time `now`.
pub fn mint(
    key: &SigningKey,
    issuer: &str,
    contract: &Contract,
    jti: String,
    now: Timestamp,
) -> Result<Minted, String> {
    crate::provider::install();
    let jwk = key.jwk();
    let mut header = jsonwebtoken::Header::new(jwk.alg.to_jsonwebtoken());
    header.kid = Some(jwk.kid.clone());

    let claims = Claims {
        iss: issuer,
        sub: &contract.partner,
        aud: &contract.audience,
        iat: now.as_second(),
        nbf: contract.nbf.as_second(),
        exp: contract.exp.as_second(),
        jti: &jti,
        scope: contract.scopes.join(" "),
        contract: ContractClaim {
            id: &contract.id,
            sha256: &contract.sha256,
        },
        extra: &contract.claims,
    };
    let token = Zeroizing::new(
        jsonwebtoken::encode(&header, &claims, key.encoding_key())
            .map_err(|e| format!("signing failed: {e}"))?,
    );
    let sha256 = sha256_hex(token.as_bytes());
    Ok(Minted {
        token,
        jti,
        iat: now,
        sha256,
    })
}
