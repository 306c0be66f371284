//! `covenant verify`: check a token as a partner's gateway would.

use std::io::Read;
use std::path::PathBuf;

use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::cmd::{Context, print_json, show_time};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::jwk::{self, Jwk};
use crate::period::Period;
use crate::store::{Access, Store};
use crate::verify::{self, Expectations};

/// Leeway when neither --leeway nor a store's policy gives one.
const DEFAULT_LEEWAY_SECONDS: i64 = 60;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The token: the compact JWS itself, @FILE to read it from a file, or
    /// `-` to read it from stdin. Prefer @FILE or `-`: a token in argv is
    /// visible to other users of the machine.
    #[arg(value_name = "TOKEN|@FILE|-")]
    token: String,

    /// The JWKS to verify with. Defaults to the store's published keys.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,

    /// The audience the token must name.
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
    let store = if args.jwks.is_none() || args.issuer.is_none() || args.leeway.is_none() {
        Store::open(&ctx.store, Access::Read).ok()
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
            .map_err(|e| Error::Usage(format!("--leeway: {e}")))?,
        (None, Some(store)) => store.policy.leeway_seconds,
        (None, None) => DEFAULT_LEEWAY_SECONDS,
    };
    let issuer = args
        .issuer
        .clone()
        .or_else(|| store.as_ref().map(|s| s.policy.issuer.clone()));
    if issuer.is_none() {
        eprintln!("covenant: warning: the issuer is not checked; pass --issuer");
    }
    if args.audience.is_none() {
        eprintln!("covenant: warning: the audience is not checked; pass --audience");
    }
    let expect = Expectations {
        audience: args.audience.clone(),
        issuer,
        leeway_seconds,
        now: ctx.now,
    };

    match verify::verify(&token, &keys, &expect) {
        Ok(verified) => {
            if args.json {
                print_json(&json!({
                    "valid": true,
                    "kid": verified.kid,
                    "alg": verified.alg.name(),
                    "header": verified.header,
                    "claims": verified.claims,
                }));
            } else {
                eprintln!(
                    "covenant: valid: signed by {} ({}), expires {}",
                    verified.kid,
                    verified.alg,
                    show_time(verified.exp)
                );
                print_json(&Value::Object(verified.claims));
            }
            Ok(())
        }
        Err(reason) => {
            if args.json {
                print_json(&json!({ "valid": false, "reason": reason }));
            }
            Err(Error::TokenRejected(reason))
        }
    }
}

/// Reads the token argument: inline, `@FILE`, or `-` for stdin.
fn read_token(arg: &str) -> Result<Zeroizing<String>> {
    let text = if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io("read the token from", "stdin", e))?;
        s
    } else if let Some(path) = arg.strip_prefix('@') {
        let bytes = std::fs::read(path).map_err(|e| Error::io("read the token from", path, e))?;
        String::from_utf8(bytes)
            .map_err(|_| Error::TokenRejected(format!("{path} is not a text file")))?
    } else {
        arg.to_string()
    };
    Ok(Zeroizing::new(text.trim().to_string()))
}

fn read_jwks(path: &std::path::Path) -> Result<Vec<Jwk>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read the JWKS", path, e))?;
    let value = crate::strict_json::parse(&bytes)
        .map_err(|e| Diagnostic::file(path, format!("not a JWKS: {e}")))?;
    Ok(jwk::parse_jwks(&value).map_err(|e| Diagnostic::file(path, e))?)
}
