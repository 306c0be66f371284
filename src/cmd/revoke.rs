//! `covenant revoke`: revoke one token by its `jti`.
//!
//! The ledger records the revocation; `covenant verify` with the store then
//! rejects the token, and the revocation list that auditors and gateways
//! receive is built from these records.

use serde_json::json;

use crate::cmd::{Context, print_json, show_time};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Event};
use crate::store::{Access, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The token's `jti`, as `covenant mint` printed it. A jti is base64url
    /// and may begin with `-`, so this is never read as an option.
    #[arg(allow_hyphen_values = true)]
    jti: String,

    /// Why it is revoked, for the ledger and the revocation list.
    #[arg(long, required = true, value_parser = crate::cmd::ledger_text)]
    reason: String,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let token = store.state.token(&args.jti).ok_or_else(|| {
        Error::Usage(format!(
            "no token with jti {} was minted by this store; check the jti in the mint output",
            args.jti
        ))
    })?;
    if let Some(c) = &token.revoked {
        return Err(Error::Usage(format!(
            "token {} was already revoked at {}: {}",
            args.jti,
            show_time(c.time),
            c.reason
        )));
    }
    if args.reason.trim().is_empty() {
        return Err(Error::Usage(
            "--reason must say why; it goes into the ledger".into(),
        ));
    }
    let (sub, exp) = (token.sub.clone(), token.exp);
    store.record(
        ctx.now,
        vec![Entry {
            actor: ctx.actor.clone(),
            event: Event::TokenRevoked {
                jti: args.jti.clone(),
                reason: args.reason,
            },
        }],
    )?;
    if args.json {
        print_json(&json!({ "jti": args.jti, "sub": sub, "revoked": true }))?;
    } else {
        errln!(
            "covenant: revoked token {} of {sub} (it would have expired at {}); gateways that \
             verify with the JWKS alone still accept it until they receive the revocation list",
            args.jti,
            show_time(exp)
        );
    }
    Ok(())
}
