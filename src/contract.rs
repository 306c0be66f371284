//! Partner contracts: one TOML file per agreement, checked against the
//! policy before anything is signed.
//!
//! Checking turns the file into a `Contract`, a value that already obeys
//! the policy: its audience and scopes are in the catalogue, its lifetime
//! is within the maximum, its dates are whole seconds in UTC. Minting takes
//! only that value, so a contract that was never checked cannot be signed.
//! See docs/contracts.md for the format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil;
use ring::digest;
use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;
use toml::value::Datetime;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::period::Period;
use crate::policy::Policy;

/// Claim names a contract's `[claims]` table may not use: the registered
/// claims of RFC 7519 §4.1, the two covenant sets itself, and claims that
/// other specifications give authorisation meaning (RFC 8693 `act`,
/// `may_act`, `client_id`; RFC 7800 `cnf`; OpenID Connect `azp`,
/// `auth_time`, `nonce`; and the common `scp`). Letting a contract set any
/// of these would let it widen or disguise what the token grants.
pub const RESERVED_CLAIMS: [&str; 17] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "scope",
    "contract",
    "scp",
    "act",
    "may_act",
    "client_id",
    "cnf",
    "azp",
    "auth_time",
    "nonce",
];

/// The last second a signed 32-bit NumericDate can hold:
/// 2038-01-19T03:14:07Z.
pub const Y2038: i64 = i32::MAX as i64;

/// Longest contract id and partner name accepted.
const MAX_NAME_LEN: usize = 256;

/// A contract that has been checked against the policy.
#[derive(Debug, Clone)]
pub struct Contract {
    pub path: PathBuf,
    pub id: String,
    pub partner: String,
    pub audience: String,
    pub scopes: Vec<String>,
    pub nbf: Timestamp,
    pub exp: Timestamp,
    /// The `[claims]` table, as JSON.
    pub claims: Map<String, Value>,
    /// SHA-256 of the file's exact bytes, lowercase hex.
    pub sha256: String,
    /// Things worth telling the operator that do not stop minting.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    contract: RawContract,
    token: RawToken,
    #[serde(default)]
    claims: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContract {
    id: Spanned<String>,
    partner: Spanned<String>,
    start: Spanned<Datetime>,
    end: Option<Spanned<Datetime>>,
    term: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    audience: Spanned<String>,
    scopes: Spanned<Vec<Spanned<String>>>,
}

impl Contract {
    /// Parses the bytes of a contract file and checks them against the
    /// policy at time `now`.
    pub fn check(
        path: &Path,
        bytes: &[u8],
        policy: &Policy,
        now: Timestamp,
    ) -> Result<Contract, Diagnostic> {
        let source = std::str::from_utf8(bytes)
            .map_err(|e| Diagnostic::file(path, format!("not UTF-8 text: {e}")))?;
        let raw: RawFile =
            toml::from_str(source).map_err(|e| Diagnostic::from_toml(path, source, &e))?;
        let at =
            |span: std::ops::Range<usize>, msg: String| Diagnostic::at(path, source, span, msg);

        let id = name_field(&raw.contract.id, "contract id")
            .map_err(|m| at(raw.contract.id.span(), m))?;
        let partner = name_field(&raw.contract.partner, "partner")
            .map_err(|m| at(raw.contract.partner.span(), m))?;

        let nbf = timestamp(raw.contract.start.get_ref())
            .map_err(|m| at(raw.contract.start.span(), m))?;
        let exp = match (&raw.contract.end, &raw.contract.term) {
            (Some(end), None) => timestamp(end.get_ref()).map_err(|m| at(end.span(), m))?,
            (None, Some(term)) => {
                let period = Period::parse(term.get_ref()).map_err(|m| at(term.span(), m))?;
                period
                    .after(nbf)
                    .ok_or_else(|| at(term.span(), "the term ends beyond the year 9999".into()))?
            }
            (Some(end), Some(_)) => {
                return Err(at(
                    end.span(),
                    "give either `end` or `term`, not both".into(),
                ));
            }
            (None, None) => {
                return Err(at(
                    raw.contract.start.span(),
                    "the contract needs an `end` date or a `term` such as \"3y\"".into(),
                )
                .with_field("[contract]"));
            }
        };
        let end_span = raw
            .contract
            .end
            .as_ref()
            .map(Spanned::span)
            .or_else(|| raw.contract.term.as_ref().map(Spanned::span))
            .expect("end or term was present");

        if exp <= nbf {
            return Err(at(
                end_span,
                format!("the contract ends ({exp}) before it starts ({nbf})"),
            ));
        }
        if exp <= now {
            return Err(at(
                end_span,
                format!("the contract ended on {exp}; it is now {now}"),
            ));
        }
        let latest = policy
            .max_token_lifetime
            .after(nbf)
            .unwrap_or(Timestamp::MAX);
        if exp > latest {
            return Err(at(
                end_span,
                format!(
                    "the token would live from {nbf} to {exp}, longer than the policy's \
                     max_token_lifetime of {} (latest end {latest})",
                    policy.max_token_lifetime
                ),
            ));
        }

        let audience = raw.token.audience.get_ref().clone();
        if !policy.audiences.contains(&audience) {
            return Err(at(
                raw.token.audience.span(),
                not_in_policy("audience", &audience, &policy.audiences),
            ));
        }

        let mut scopes: Vec<String> = Vec::new();
        for scope in raw.token.scopes.get_ref() {
            let name = scope.get_ref();
            if !policy.scopes.contains(name) {
                return Err(at(
                    scope.span(),
                    not_in_policy("scope", name, &policy.scopes),
                ));
            }
            if scopes.contains(name) {
                return Err(at(scope.span(), format!("scope {name:?} is listed twice")));
            }
            scopes.push(name.clone());
        }
        if scopes.is_empty() {
            return Err(at(
                raw.token.scopes.span(),
                "a token needs at least one scope".into(),
            ));
        }

        let mut claims = Map::new();
        for (name, value) in &raw.claims {
            let key = name.get_ref();
            if key.is_empty() {
                return Err(at(name.span(), "a claim name may not be empty".into()));
            }
            // Some JSON decoders (Go's encoding/json, for one) match member
            // names to fields regardless of case, folding more than ASCII:
            // `ſcope` (long s) and `Scope` both reach such a gateway as
            // `scope`. Names are therefore kept to visible ASCII, where
            // every decoder folds alike, and compared without case.
            if !key.chars().all(|c| c.is_ascii_graphic()) {
                return Err(at(
                    name.span(),
                    format!(
                        "claim name {key:?} may hold only visible ASCII characters (letters, \
                         digits, punctuation): decoders fold other characters differently, so \
                         a gateway could read it as another claim"
                    ),
                ));
            }
            if RESERVED_CLAIMS.iter().any(|r| r.eq_ignore_ascii_case(key)) {
                return Err(at(
                    name.span(),
                    format!("claim {key:?} is set by covenant or reserved by a JWT specification"),
                ));
            }
            let json = toml_to_json(value.get_ref()).map_err(|m| at(value.span(), m))?;
            claims.insert(key.clone(), json);
        }

        let mut warnings = Vec::new();
        if exp.as_second() > Y2038 {
            warnings.push(format!(
                "exp {} ({exp}) is after 2038-01-19T03:14:07Z; verifiers that store exp as \
                 a signed 32-bit number will misread it",
                exp.as_second()
            ));
        }

        Ok(Contract {
            path: path.to_path_buf(),
            id,
            partner,
            audience,
            scopes,
            nbf,
            exp,
            claims,
            sha256: hex::encode(digest::digest(&digest::SHA256, bytes)),
            warnings,
        })
    }
}

fn name_field(value: &Spanned<String>, what: &str) -> Result<String, String> {
    let text = value.get_ref();
    if text.trim().is_empty() {
        return Err(format!("the {what} may not be empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("the {what} may not contain control characters"));
    }
    if let Some(c) = text.chars().find(|c| is_invisible(*c)) {
        return Err(format!(
            "the {what} may not contain invisible or direction-changing characters (U+{:04X}), \
             which make one name look like another",
            c as u32
        ));
    }
    if text.chars().count() > MAX_NAME_LEN {
        return Err(format!(
            "the {what} is longer than {MAX_NAME_LEN} characters"
        ));
    }
    Ok(text.clone())
}

/// Zero-width and bidirectional formatting characters: they change how a
/// name displays without changing how it reads, which is how look-alike
/// partner names are made.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn not_in_policy(what: &str, value: &str, allowed: &[String]) -> String {
    let mut msg = format!("{what} {value:?} is not in the policy");
    match did_you_mean(value, allowed.iter().map(String::as_str)) {
        Some(near) => msg.push_str(&format!(" (did you mean {near:?}?)")),
        None if allowed.is_empty() => msg.push_str(&format!(" (the policy lists no {what}s)")),
        None => msg.push_str(&format!("; allowed: {}", allowed.join(", "))),
    }
    msg
}

/// A TOML date (midnight UTC) or offset date-time, as a whole-second
/// timestamp. Local date-times are refused: without an offset the moment
/// they name depends on where the file is read.
fn timestamp(dt: &Datetime) -> Result<Timestamp, String> {
    let date = dt
        .date
        .ok_or("a time of day alone is not a date; write 2026-12-01 or 2026-12-01T09:00:00Z")?;
    let (hour, minute, second) = match dt.time {
        None => (0, 0, 0),
        Some(t) => {
            if t.nanosecond.is_some_and(|n| n != 0) {
                return Err("token times are whole seconds; remove the fraction".into());
            }
            (t.hour, t.minute, t.second.unwrap_or(0))
        }
    };
    let offset_minutes = match (dt.time, dt.offset) {
        (None, _) => 0,
        (Some(_), Some(toml::value::Offset::Z)) => 0,
        (Some(_), Some(toml::value::Offset::Custom { minutes })) => minutes,
        (Some(_), None) => {
            return Err(
                "a date-time needs an offset (Z or +hh:mm); a local time is ambiguous".into(),
            );
        }
    };
    let civil = civil::DateTime::new(
        i16::try_from(date.year).map_err(|_| "year out of range")?,
        date.month as i8,
        date.day as i8,
        hour as i8,
        minute as i8,
        second as i8,
        0,
    )
    .map_err(|e| format!("not a valid date: {e}"))?;
    let offset = jiff::tz::Offset::from_seconds(i32::from(offset_minutes) * 60)
        .map_err(|e| format!("offset out of range: {e}"))?;
    offset
        .to_timestamp(civil)
        .map_err(|e| format!("not a valid instant: {e}"))
}

/// Converts a `[claims]` value to JSON. Date-times become RFC 3339 strings.
fn toml_to_json(value: &toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .ok_or("NaN and infinity cannot be written in JSON")?,
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => {
            Value::Array(items.iter().map(toml_to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), toml_to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
issuer = "https://issuer.example.com"
[policy]
algorithms = ["ES256"]
max_token_lifetime = "5y"
key_signing_period = "1y"
leeway = "60s"
audiences = ["https://api.example.com/partners"]
scopes = ["shipments:read", "shipments:write", "invoices:read"]
"#;

    const CONTRACT: &str = r#"
[contract]
id = "ACME-2026-001"
partner = "acme-logistics"
start = 2026-12-01
end = 2029-12-01

[token]
audience = "https://api.example.com/partners"
scopes = ["shipments:read", "invoices:read"]

[claims]
tier = "gold"
"#;

    fn check(src: &str) -> Result<Contract, String> {
        let policy = Policy::parse(Path::new("covenant.toml"), POLICY).unwrap();
        let now: Timestamp = "2026-11-15T00:00:00Z".parse().unwrap();
        Contract::check(Path::new("c.toml"), src.as_bytes(), &policy, now)
            .map_err(|d| d.to_string())
    }

    #[test]
    fn example_contract_gives_exact_dates() {
        let c = check(CONTRACT).unwrap();
        assert_eq!(c.nbf.as_second(), 1_796_083_200); // 2026-12-01T00:00:00Z
        assert_eq!(c.exp.as_second(), 1_890_777_600); // 2029-12-01T00:00:00Z
        assert_eq!(c.partner, "acme-logistics");
        assert_eq!(c.claims["tier"], "gold");
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn term_is_calendar_arithmetic_from_a_leap_day() {
        let src = CONTRACT
            .replace("start = 2026-12-01", "start = 2028-02-29")
            .replace("end = 2029-12-01", "term = \"1y\"");
        let c = check(&src).unwrap();
        assert_eq!(c.exp, "2029-02-28T00:00:00Z".parse().unwrap());
    }

    #[test]
    fn offsets_are_honoured_and_local_times_refused() {
        let c = check(&CONTRACT.replace("start = 2026-12-01", "start = 2026-12-01T09:30:00+02:00"))
            .unwrap();
        assert_eq!(c.nbf, "2026-12-01T07:30:00Z".parse().unwrap());
        let err = check(&CONTRACT.replace("start = 2026-12-01", "start = 2026-12-01T09:30:00"))
            .unwrap_err();
        assert!(err.contains("offset"), "{err}");
    }

    #[test]
    fn refusals_name_line_and_field() {
        let cases = [
            (
                "\"invoices:read\"]",
                "\"invoices:rea\"]",
                "c.toml:10:",
                "[token] scopes",
                "did you mean \"invoices:read\"",
            ),
            (
                "audience = \"https://api.example.com/partners\"",
                "audience = \"https://evil.example\"",
                "c.toml:9:",
                "[token] audience",
                "not in the policy",
            ),
            (
                "end = 2029-12-01",
                "end = 2032-12-02",
                "c.toml:6:",
                "[contract] end",
                "max_token_lifetime",
            ),
            (
                "end = 2029-12-01",
                "end = 2026-11-30",
                "c.toml:6:",
                "[contract] end",
                "before it starts",
            ),
            (
                "tier = \"gold\"",
                "aud = \"x\"",
                "c.toml:13:",
                "[claims] aud",
                "reserved",
            ),
            (
                "tier = \"gold\"",
                "Scope = \"x\"",
                "c.toml:13:",
                "[claims] Scope",
                "reserved",
            ),
            (
                "partner = \"acme-logistics\"",
                "partner = \"acme\u{202E}exe\"",
                "c.toml:4:",
                "[contract] partner",
                "U+202E",
            ),
            (
                "partner = \"acme-logistics\"",
                "partner = 7",
                "c.toml:4:",
                "[contract] partner",
                "string",
            ),
            (
                "id = \"ACME-2026-001\"",
                "id = \"ACME\"\ncolour = \"red\"",
                "c.toml:4:",
                "colour",
                "unknown field",
            ),
        ];
        for (from, to, position, field, message) in cases {
            let err = check(&CONTRACT.replace(from, to)).unwrap_err();
            let first = err.lines().next().unwrap();
            assert!(first.starts_with(position), "{to}: {first}");
            assert!(first.contains(field), "{to}: {first}");
            assert!(first.contains(message), "{to}: {first}");
        }
    }

    #[test]
    fn an_expired_contract_is_refused() {
        let src = CONTRACT
            .replace("start = 2026-12-01", "start = 2021-01-01")
            .replace("end = 2029-12-01", "end = 2026-01-01");
        assert!(check(&src).unwrap_err().contains("ended"));
    }

    #[test]
    fn exp_after_2038_warns_but_passes() {
        let policy_src = POLICY.replace("\"5y\"", "\"20y\"");
        let policy = Policy::parse(Path::new("p"), &policy_src).unwrap();
        let src = CONTRACT.replace("end = 2029-12-01", "end = 2040-01-01");
        let c = Contract::check(
            Path::new("c"),
            src.as_bytes(),
            &policy,
            "2026-11-15T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("2040-01-01T00:00:00Z"));
    }
}
