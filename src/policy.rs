//! The issuer's policy: `covenant.toml` at the root of a store.
//!
//! The policy says who issues tokens and bounds everything a contract may
//! ask for: which algorithms keys may use, how long a token may live, how
//! long one key may sign and stay published, which audiences and scopes
//! exist, and how much clock skew a verifier forgives. Unknown fields are
//! errors, so a misspelt limit can never be silently ignored.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::algorithm::Algorithm;
use crate::diagnostic::Diagnostic;
use crate::period::Period;

/// The file name of the policy inside a store.
pub const FILE_NAME: &str = "covenant.toml";

/// Longest leeway a policy may set: skew is a matter of minutes, and a
/// larger value would quietly extend every token.
pub const MAX_LEEWAY_SECONDS: i64 = 600;

/// A checked policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub issuer: String,
    pub algorithms: Vec<Algorithm>,
    pub max_token_lifetime: Period,
    pub key_signing_period: Period,
    /// How long after its activation a key may stay published, if bounded.
    pub key_max_lifetime: Option<Period>,
    pub leeway_seconds: i64,
    pub audiences: Vec<String>,
    pub scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    issuer: Spanned<String>,
    policy: RawPolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    algorithms: Spanned<Vec<Spanned<String>>>,
    max_token_lifetime: Spanned<String>,
    key_signing_period: Spanned<String>,
    key_max_lifetime: Option<Spanned<String>>,
    leeway: Spanned<String>,
    audiences: Spanned<Vec<Spanned<String>>>,
    scopes: Spanned<Vec<Spanned<String>>>,
}

impl Policy {
    /// Parses and checks the text of a policy file read from `path`.
    pub fn parse(path: &Path, source: &str) -> Result<Policy, Diagnostic> {
        let raw: RawFile =
            toml::from_str(source).map_err(|e| Diagnostic::from_toml(path, source, &e))?;
        let at =
            |span: std::ops::Range<usize>, msg: String| Diagnostic::at(path, source, span, msg);

        let issuer = raw.issuer.get_ref().trim().to_string();
        if issuer.is_empty() || issuer.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(at(
                raw.issuer.span(),
                "the issuer must be a non-empty URL with no spaces".into(),
            ));
        }

        let p = raw.policy;
        let mut algorithms = Vec::new();
        for name in p.algorithms.get_ref() {
            let alg = name
                .get_ref()
                .parse::<Algorithm>()
                .map_err(|e| at(name.span(), e))?;
            if algorithms.contains(&alg) {
                return Err(at(name.span(), format!("{alg} is listed twice")));
            }
            algorithms.push(alg);
        }
        if algorithms.is_empty() {
            return Err(at(
                p.algorithms.span(),
                "at least one algorithm must be allowed".into(),
            ));
        }

        let period = |s: &Spanned<String>| Period::parse(s.get_ref()).map_err(|e| at(s.span(), e));
        let max_token_lifetime = period(&p.max_token_lifetime)?;
        let key_signing_period = period(&p.key_signing_period)?;
        let key_max_lifetime = p.key_max_lifetime.as_ref().map(period).transpose()?;
        if let (Some(max), Some(span)) = (&key_max_lifetime, &p.key_max_lifetime) {
            // Compared from a fixed day: calendar periods have no length of
            // their own, but their order does not depend on the day.
            let from = jiff::Timestamp::UNIX_EPOCH;
            if max.after(from) < key_signing_period.after(from) {
                return Err(at(
                    span.span(),
                    format!(
                        "a key may stay published only {max}, less than it signs \
                         (key_signing_period {key_signing_period})"
                    ),
                ));
            }
        }
        let leeway_seconds = period(&p.leeway)?
            .fixed_seconds()
            .map_err(|e| at(p.leeway.span(), e))?;
        if leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(at(
                p.leeway.span(),
                format!("a leeway over {MAX_LEEWAY_SECONDS} seconds would stretch every token"),
            ));
        }

        let audiences = unique_strings(&p.audiences, "audience", |_| Ok(()))
            .map_err(|(span, msg)| at(span, msg))?;
        let scopes = unique_strings(&p.scopes, "scope", check_scope_token)
            .map_err(|(span, msg)| at(span, msg))?;

        Ok(Policy {
            issuer,
            algorithms,
            max_token_lifetime,
            key_signing_period,
            key_max_lifetime,
            leeway_seconds,
            audiences,
            scopes,
        })
    }

    /// A starting policy for a new store, with comments for the officer.
    pub fn template(issuer: &str) -> String {
        let issuer = toml::Value::String(issuer.to_string());
        format!(
            r#"# covenant policy: the limits every key and token of this issuer obeys.
# Reference: docs/policy.md. covenant refuses unknown fields.

issuer = {issuer}

[policy]
# Algorithms new keys may use: ES256, ES384, EdDSA, RS256, PS256.
algorithms = ["ES256", "EdDSA"]
# No token may be valid for longer than this (exp - nbf).
max_token_lifetime = "5y"
# How long one key signs before it must be rotated.
key_signing_period = "1y"
# Clock skew forgiven when verifying; never added to a token's exp.
leeway = "60s"
# The audiences tokens may name; each contract picks exactly one.
audiences = []
# The scope catalogue; contracts choose from it.
scopes = []
"#
        )
    }
}

/// Checks a scope against RFC 6749 §3.3's scope-token grammar: printable
/// ASCII without space, double quote or backslash.
fn check_scope_token(scope: &str) -> Result<(), String> {
    if scope
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    {
        Ok(())
    } else {
        Err(format!(
            "scope {scope:?} may hold only printable ASCII without spaces, quotes or backslashes"
        ))
    }
}

type SpannedError = (std::ops::Range<usize>, String);

fn unique_strings(
    list: &Spanned<Vec<Spanned<String>>>,
    what: &str,
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, SpannedError> {
    let mut out: Vec<String> = Vec::new();
    for item in list.get_ref() {
        let value = item.get_ref();
        if value.trim().is_empty() {
            return Err((item.span(), format!("an empty {what} is not allowed")));
        }
        check(value).map_err(|e| (item.span(), e))?;
        if out.contains(value) {
            return Err((item.span(), format!("{what} {value:?} is listed twice")));
        }
        out.push(value.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
issuer = "https://issuer.example.com"

[policy]
algorithms = ["ES256", "EdDSA"]
max_token_lifetime = "5y"
key_signing_period = "1y"
leeway = "60s"
audiences = ["https://api.example.com/partners"]
scopes = ["shipments:read", "shipments:write", "invoices:read"]
"#;

    fn parse(src: &str) -> Result<Policy, String> {
        Policy::parse(Path::new("covenant.toml"), src).map_err(|d| d.to_string())
    }

    #[test]
    fn the_documented_example_parses() {
        let p = parse(GOOD).unwrap();
        assert_eq!(p.issuer, "https://issuer.example.com");
        assert_eq!(p.algorithms, vec![Algorithm::ES256, Algorithm::EdDSA]);
        assert_eq!(p.leeway_seconds, 60);
        assert_eq!(p.scopes.len(), 3);
    }

    #[test]
    fn the_template_parses() {
        let p = parse(&Policy::template("https://i.example")).unwrap();
        assert_eq!(p.issuer, "https://i.example");
    }

    #[test]
    fn unknown_field_names_line_and_field() {
        let src = GOOD.replace("leeway = \"60s\"", "leway = \"60s\"");
        let err = parse(&src).unwrap_err();
        assert!(err.starts_with("covenant.toml:8:1:"), "{err}");
        assert!(err.contains("leway"), "{err}");
    }

    #[test]
    fn wrong_type_is_located() {
        let src = GOOD.replace("max_token_lifetime = \"5y\"", "max_token_lifetime = 5");
        let err = parse(&src).unwrap_err();
        assert!(err.starts_with("covenant.toml:6:"), "{err}");
        assert!(err.contains("max_token_lifetime"), "{err}");
    }

    #[test]
    fn hmac_and_huge_leeway_are_refused() {
        let err = parse(&GOOD.replace("\"EdDSA\"]", "\"HS256\"]")).unwrap_err();
        assert!(err.contains("HS256"), "{err}");
        let err = parse(&GOOD.replace("\"60s\"", "\"2h\"")).unwrap_err();
        assert!(err.contains("leeway"), "{err}");
    }

    #[test]
    fn scopes_follow_the_oauth_grammar() {
        let err = parse(&GOOD.replace("\"invoices:read\"", "\"invoices read\"")).unwrap_err();
        assert!(err.contains("[policy] scopes"), "{err}");
    }
}
