//! `covenant verify`: check a token as a partner's gateway would.
//!
//! A JWKS says which keys may sign, not which tokens were revoked. When the
//! store is readable, its ledger also supplies the revocations: a token
//! whose `jti` or key was revoked is rejected even if the JWKS given with
//! --jwks still holds the key.

use std::path::PathBuf;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::cmd::{Context, print_json, show_time};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::jwk::{self, Jwk};
use crate::period::Period;
use crate::store::{Access, Store};
use crate::verify::{self, Expectations, VerifiedToken};

/// Leeway when neither --leeway nor a store's policy gives one.
const DEFAULT_LEEWAY_SECONDS: i64 = 60;

// The help's closing paragraph says what a readable store adds, since a
// JWKS alone cannot tell a revoked token from a valid one.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Revocations: with a readable store (--store or COVENANT_STORE), a token \
    whose jti was revoked (`covenant revoke`) or whose key was revoked (`covenant key revoke`) \
    is rejected, even with --jwks. With --jwks and no store, revocations are not known and \
    are not checked."
)]
pub struct Args {
    /// Where the token is: @FILE to read it from a file, or `-` to read it
    /// from stdin. A token is a bearer secret, so it is never taken from
    /// the command line itself, where other users of the machine and the
    /// shell's history would see it.
    #[arg(value_name = "@FILE|-", allow_hyphen_values = true)]
    token: String,

    /// The JWKS to verify with. Defaults to the store's published keys.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,

    /// The audience the token must name. Required without a store; with
    /// one, the token must name one of the policy's audiences.
    #[arg(long)]
    audience: Option<String>,

    /// The issuer the token must name. Defaults to the store's issuer.
    #[arg(long)]
    issuer: Option<String>,

    /// Clock skew to forgive, such as 60s. Defaults to the store's policy,
    /// or 60s without a store.
    #[arg(long)]
    leeway: Option<String>,

    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let token = read_token(&args.token)?;
    // A store that exists must open: skipping its revocations because its
    // ledger is damaged would accept tokens it revoked.
    let store = if ctx.store.is_dir() {
        Some(Store::open(&ctx.store, Access::Read)?)
    } else {
        None
    };

    let keys = match (&args.jwks, &store) {
        (Some(path), _) => read_jwks(path)?,
        (None, Some(store)) => store
            .state
            .published(ctx.now, store.policy.leeway_seconds)
            .into_iter()
            .map(|k| k.jwk.clone())
            .collect(),
        (None, None) => {
            return Err(Error::Usage(format!(
                "give --jwks FILE, or run where the store {} is readable",
                ctx.store.display()
            )));
        }
    };
    let leeway_seconds = match (&args.leeway, &store) {
        (Some(text), _) => Period::parse(text)
            .and_then(|p| p.fixed_seconds())
            .and_then(|s| match s {
                s if s <= crate::policy::MAX_LEEWAY_SECONDS => Ok(s),
                _ => Err(format!(
                    "at most {} seconds: more would stretch every token's expiry",
                    crate::policy::MAX_LEEWAY_SECONDS
                )),
            })
            .map_err(|e| Error::Usage(format!("--leeway: {e}")))?,
        (None, Some(store)) => store.policy.leeway_seconds,
        (None, None) => DEFAULT_LEEWAY_SECONDS,
    };
    let issuer = args
        .issuer
        .clone()
        .or_else(|| store.as_ref().map(|s| s.policy.issuer.clone()));
    if issuer.is_none() {
        errln!("covenant: warning: the issuer is not checked; pass --issuer");
    }
    // Without --audience, the token must name one of the store's
    // audiences; with no store either, there is nothing to check it
    // against, and a token for any audience would pass.
    let audiences = match (&args.audience, &store) {
        (Some(a), _) => vec![a.clone()],
        (None, Some(store)) => store.policy.audiences.clone(),
        (None, None) => {
            return Err(Error::Usage(
                "give --audience: a token is valid only for the audience it names".into(),
            ));
        }
    };
    let expect = Expectations {
        audiences: Some(audiences),
        issuer,
        leeway_seconds,
        now: ctx.now,
    };

    let outcome = verify::verify(&token, &keys, &expect);
    let outcome = match &store {
        Some(store) => check_revocations(store, &token, outcome),
        None => outcome,
    };
    match outcome {
        Ok(verified) => {
            if args.json {
                print_json(&json!({
                    "valid": true,
                    "kid": verified.kid,
                    "alg": verified.alg.name(),
                    "header": verified.header,
                    "claims": verified.claims,
                }))?;
            } else {
                errln!(
                    "covenant: valid: signed by {} ({}), expires {}",
                    verified.kid,
                    verified.alg,
                    show_time(verified.exp)
                );
                print_json(&Value::Object(verified.claims))?;
            }
            Ok(())
        }
        Err(reason) => {
            if args.json {
                print_json(&json!({ "valid": false, "reason": reason }))?;
            }
            Err(Error::TokenRejected(reason))
        }
    }
}

/// Rejects a token that the store's ledger revoked, by its key or by its
/// `jti`. A token that failed for another reason but names a revoked key is
/// reported as revoked, since that is what the officer needs to know.
fn check_revocations(
    store: &Store,
    token: &str,
    outcome: std::result::Result<VerifiedToken, String>,
) -> std::result::Result<VerifiedToken, String> {
    let kid = match &outcome {
        Ok(v) => Some(v.kid.clone()),
        Err(_) => verify::unverified_kid(token),
    };
    if let Some(c) = kid.and_then(|k| store.state.key(&k)?.revoked.clone()) {
        return Err(format!(
            "its key was revoked at {} ({}); every token it signed is revoked",
            show_time(c.time),
            c.reason
        ));
    }
    let jti = match &outcome {
        Ok(v) => v
            .claims
            .get("jti")
            .and_then(Value::as_str)
            .map(str::to_string),
        Err(_) => verify::unverified_jti(token),
    };
    let Some((jti, c)) =
        jti.and_then(|j| Some((j.clone(), store.state.token(&j)?.revoked.clone()?)))
    else {
        return outcome;
    };
    let revoked = format!(
        "the token (jti {jti}) was revoked at {}: {}",
        show_time(c.time),
        c.reason
    );
    // A token that also fails on its own merits says both: its jti is not
    // authenticated then, so the revocation is not the whole story.
    Err(match outcome {
        Ok(_) => revoked,
        Err(reason) => format!("{reason}; and {revoked}"),
    })
}

/// Reads the token argument: `@FILE`, or `-` for stdin.
fn read_token(arg: &str) -> Result<Zeroizing<String>> {
    // Bounded alike from a file and from stdin, so that an endless input
    // cannot exhaust memory; either source refused the same way.
    let limit = 16 * crate::file::MAX_INPUT;
    let (bytes, source) = if arg == "-" {
        let mut bytes = Vec::new();
        crate::file::read_at_most(
            std::io::stdin(),
            std::path::Path::new("stdin"),
            limit,
            &mut bytes,
            "an input covenant reads",
        )?;
        (bytes, "stdin")
    } else if let Some(path) = arg.strip_prefix('@') {
        let bytes = crate::file::read_input(std::path::Path::new(path), limit)?;
        (bytes, path)
    } else {
        return Err(Error::Usage(
            "a token is a bearer secret and is not taken from the command line, where other \
             users of the machine and the shell's history see it; give @FILE, or - to read \
             it from stdin"
                .into(),
        ));
    };
    let bytes = Zeroizing::new(bytes);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::TokenRejected(format!("{source} is not UTF-8 text")))?;
    Ok(Zeroizing::new(text.trim().to_string()))
}

fn read_jwks(path: &std::path::Path) -> Result<Vec<Jwk>> {
    let bytes = crate::file::read_input(path, 16 * crate::file::MAX_INPUT)?;
    let value = crate::strict_json::parse(&bytes)
        .map_err(|e| Diagnostic::file(path, format!("not a JWKS: {e}")))?;
    Ok(jwk::parse_jwks(&value).map_err(|e| Diagnostic::file(path, e))?)
}
