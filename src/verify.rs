//! Strict token verification.
//!
//! The checks run in an order chosen so that nothing in a token is trusted
//! before it has been authenticated, except what is needed to find the key:
//!
//! 1. The token is three unpadded base64url parts.
//! 2. The header is a JSON object with no repeated names and only the
//!    members covenant issues: `alg`, `kid` and optionally `typ`. `crit`
//!    and anything that points at other keys (`jku`, `x5u`, `jwk`, `x5c`)
//!    are refused by name.
//! 3. `kid` names a key in the JWKS, and `alg` equals that key's `alg`:
//!    the algorithm comes from the key, never from the token.
//! 4. The signature verifies (jsonwebtoken, through covenant's ring
//!    provider; ECDSA signatures must be the fixed-size JWS form).
//! 5. The claims are a JSON object with no repeated names; `exp` is
//!    required, and `exp`, `nbf` and `iat` must be integers.
//! 6. `exp` and `nbf` are checked against the clock with the leeway, and
//!    `iss` and `aud` against what the caller expects.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::jwk::{Jwk, PublicKey};

/// Header members covenant issues, and so accepts.
const ALLOWED_HEADER: [&str; 3] = ["alg", "kid", "typ"];

/// What the verifier expects of a token besides a good signature.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// The audiences the token may name, when checked: it must name
    /// exactly one, and that one must be in this list.
    pub audiences: Option<Vec<String>>,
    pub issuer: Option<String>,
    pub leeway_seconds: i64,
    pub now: Timestamp,
}

/// A token whose signature and claims have been checked. Only `verify`
/// builds one.
#[derive(Debug)]
pub struct VerifiedToken {
    pub alg: Algorithm,
    pub kid: String,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub exp: Timestamp,
}

/// Builds jsonwebtoken's view of a public key.
pub fn decoding_key(jwk: &Jwk) -> Result<jsonwebtoken::DecodingKey, String> {
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    match &jwk.key {
        PublicKey::Ec { x, y, .. } => {
            jsonwebtoken::DecodingKey::from_ec_components(&b64(x), &b64(y))
        }
        PublicKey::Ed25519 { x } => jsonwebtoken::DecodingKey::from_ed_components(&b64(x)),
        PublicKey::Rsa { n, e } => Ok(jsonwebtoken::DecodingKey::from_rsa_raw_components(n, e)),
    }
    .map_err(|e| format!("unusable key {}: {e}", jwk.kid))
}

/// Verifies a compact JWS token against a set of keys. The error is the
/// reason for rejection, written for a person.
pub fn verify(token: &str, keys: &[Jwk], expect: &Expectations) -> Result<VerifiedToken, String> {
    crate::provider::install();
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "a compact JWS has three dot-separated parts; this has {}",
            parts.len()
        ));
    }
    let header = decode_object(parts[0], "header")?;
    let header_alg = check_header(&header)?;

    let kid = match header.get("kid") {
        Some(Value::String(kid)) => kid.clone(),
        Some(_) => return Err("the header's kid is not a string".into()),
        None => return Err("the header has no kid; covenant needs it to choose the key".into()),
    };
    let jwk = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| format!("kid {kid:?} is not in the JWKS"))?;
    if header_alg != jwk.alg.name() {
        return Err(format!(
            "the header says alg {header_alg:?} but key {kid} is an {} key",
            jwk.alg
        ));
    }

    let mut validation = jsonwebtoken::Validation::new(jwk.alg.to_jsonwebtoken());
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &decoding_key(jwk)?, &validation).map_err(|e| match e
        .kind()
    {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => {
            format!("the signature does not verify with key {kid}")
        }
        _ => format!("the token does not verify: {e}"),
    })?;

    let claims = decode_object(parts[1], "claims")?;
    let exp = numeric_date(&claims, "exp")?
        .ok_or("the token has no exp; covenant refuses tokens that never expire")?;
    let nbf = numeric_date(&claims, "nbf")?;
    let iat = numeric_date(&claims, "iat")?;
    check_times(exp, nbf, iat, expect)?;
    check_issuer_and_audience(&claims, expect)?;

    Ok(VerifiedToken {
        alg: jwk.alg,
        kid,
        header,
        claims,
        exp,
    })
}

/// The `kid` a token's header names, read without checking anything. For
/// messages and rejections only: nothing may be accepted on its strength.
pub fn unverified_kid(token: &str) -> Option<String> {
    unverified_member(token, 0, "kid")
}

/// The `jti` a token's claims name, read without checking anything; see
/// `unverified_kid`.
pub fn unverified_jti(token: &str) -> Option<String> {
    unverified_member(token, 1, "jti")
}

fn unverified_member(token: &str, part: usize, name: &str) -> Option<String> {
    let text = token.trim().split('.').nth(part)?;
    let map = decode_object(text, "token").ok()?;
    map.get(name)?.as_str().map(str::to_string)
}

fn decode_object(part: &str, what: &str) -> Result<Map<String, Value>, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| format!("the {what} is not unpadded base64url: {e}"))?;
    match crate::strict_json::parse(&bytes)
        .map_err(|e| format!("the {what} is not valid JSON: {e}"))?
    {
        Value::Object(map) => Ok(map),
        _ => Err(format!("the {what} is not a JSON object")),
    }
}

/// Returns the header's `alg` after refusing everything covenant does not
/// issue.
fn check_header(header: &Map<String, Value>) -> Result<String, String> {
    for name in header.keys() {
        let why = match name.as_str() {
            n if ALLOWED_HEADER.contains(&n) => continue,
            "crit" => "it marks extensions as critical, and covenant implements none",
            "jku" | "x5u" => "it points at a key to fetch, and covenant trusts only its JWKS",
            "jwk" | "x5c" => "it embeds a key, and covenant trusts only its JWKS",
            "b64" => "unencoded payloads (RFC 7797) are not accepted",
            _ => "covenant accepts only alg, kid and typ",
        };
        return Err(format!("the header has a {name:?} member: {why}"));
    }
    let alg = match header.get("alg") {
        Some(Value::String(a)) => a.clone(),
        Some(_) => return Err("the header's alg is not a string".into()),
        None => return Err("the header has no alg".into()),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err("alg \"none\" means unsigned; refused".into());
    }
    if alg.starts_with("HS") {
        return Err(format!(
            "alg {alg:?} is symmetric; covenant accepts only asymmetric signatures"
        ));
    }
    alg.parse::<Algorithm>()?;
    if let Some(typ) = header.get("typ")
        && !typ.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
    {
        return Err(format!("typ is {typ}, not \"JWT\""));
    }
    Ok(alg)
}

/// Reads an optional NumericDate claim, which must be a JSON integer.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<Timestamp>, String> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = value
        .as_i64()
        .ok_or_else(|| format!("{name} must be an integer NumericDate, not {value}"))?;
    Timestamp::from_second(seconds)
        .map(Some)
        .map_err(|_| format!("{name} {seconds} is outside the representable range of dates"))
}

fn check_times(
    exp: Timestamp,
    nbf: Option<Timestamp>,
    iat: Option<Timestamp>,
    expect: &Expectations,
) -> Result<(), String> {
    let leeway = jiff::SignedDuration::from_secs(expect.leeway_seconds);
    let now = expect.now;
    if exp.checked_add(leeway).is_ok_and(|t| now > t) {
        return Err(format!("the token expired at {exp} (it is now {now})"));
    }
    if let Some(nbf) = nbf
        && nbf.checked_sub(leeway).is_ok_and(|t| now < t)
    {
        return Err(format!(
            "the token is not valid before {nbf} (it is now {now})"
        ));
    }
    if let Some(iat) = iat
        && iat.checked_sub(leeway).is_ok_and(|t| now < t)
    {
        return Err(format!(
            "the token claims to be issued at {iat}, in the future (it is now {now})"
        ));
    }
    Ok(())
}

fn check_issuer_and_audience(
    claims: &Map<String, Value>,
    expect: &Expectations,
) -> Result<(), String> {
    if let Some(issuer) = &expect.issuer {
        match claims.get("iss") {
            Some(Value::String(iss)) if iss == issuer => {}
            Some(other) => return Err(format!("iss is {other}, expected {issuer:?}")),
            None => return Err(format!("the token has no iss; expected {issuer:?}")),
        }
    }
    if let Some(Value::Array(auds)) = claims.get("aud")
        && auds.len() > 1
    {
        // A token for several audiences works at each of them; covenant
        // issues one strict audience per token and accepts no wider one.
        return Err(format!(
            "aud names {} audiences; covenant accepts tokens for exactly one",
            auds.len()
        ));
    }
    if let Some(audiences) = &expect.audiences {
        let named = match claims.get("aud") {
            Some(Value::String(aud)) => Some(aud.as_str()),
            Some(Value::Array(auds)) => auds.first().and_then(Value::as_str),
            _ => None,
        };
        if !named.is_some_and(|aud| audiences.iter().any(|a| a == aud)) {
            let got = claims
                .get("aud")
                .map_or("nothing".to_string(), Value::to_string);
            let quoted: Vec<String> = audiences.iter().map(|a| format!("{a:?}")).collect();
            return Err(match quoted.as_slice() {
                [one] => format!("aud is {got}, expected {one}"),
                _ => format!("aud is {got}, expected one of {}", quoted.join(", ")),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expecting(audiences: &[&str]) -> Expectations {
        Expectations {
            audiences: Some(audiences.iter().map(|a| a.to_string()).collect()),
            issuer: None,
            leeway_seconds: 0,
            now: Timestamp::UNIX_EPOCH,
        }
    }

    fn check(aud: Value, audiences: &[&str]) -> Result<(), String> {
        let Value::Object(claims) = json!({ "aud": aud }) else {
            unreachable!()
        };
        check_issuer_and_audience(&claims, &expecting(audiences))
    }

    #[test]
    fn a_token_names_exactly_one_of_the_accepted_audiences() {
        let both = ["https://a.example", "https://b.example"];
        assert_eq!(check(json!("https://b.example"), &both), Ok(()));
        assert_eq!(check(json!(["https://a.example"]), &both), Ok(()));
        assert_eq!(
            check(json!("https://c.example"), &both),
            Err(r#"aud is "https://c.example", expected one of "https://a.example", "https://b.example""#.into())
        );
        assert_eq!(
            check(json!("https://b.example"), &both[..1]),
            Err(r#"aud is "https://b.example", expected "https://a.example""#.into())
        );
        assert_eq!(
            check(json!(["https://a.example", "https://b.example"]), &both),
            Err("aud names 2 audiences; covenant accepts tokens for exactly one".into())
        );
        assert_eq!(
            check(json!([]), &both),
            Err(r#"aud is [], expected one of "https://a.example", "https://b.example""#.into())
        );
        assert_eq!(
            check(json!(7), &both[..1]),
            Err(r#"aud is 7, expected "https://a.example""#.into())
        );
    }
}
