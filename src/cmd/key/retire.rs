//! `covenant key retire` and `covenant key revoke`: a key stops signing,
//! either in the ordinary way or because it is compromised.

use serde_json::json;

use super::find;
use crate::cmd::{Context, print_json, show_time};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Event};
use crate::store::{Access, Store};

#[derive(Debug, clap::Args)]
pub struct RetireArgs {
    /// The key id (its RFC 7638 thumbprint). Key ids are base64url and
    /// may begin with `-`, so this is never read as an option.
    #[arg(allow_hyphen_values = true)]
    kid: String,

    /// Why it retires, for the ledger.
    #[arg(long, default_value = "retired by hand", value_parser = crate::cmd::ledger_text)]
    reason: String,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The key id (its RFC 7638 thumbprint). Key ids are base64url and
    /// may begin with `-`, so this is never read as an option.
    #[arg(allow_hyphen_values = true)]
    kid: String,

    /// What happened, for the ledger and the revocation list.
    #[arg(long, required = true, value_parser = crate::cmd::ledger_text)]
    reason: String,

    /// Print the revoked tokens as JSON.
    #[arg(long)]
    json: bool,
}

pub fn retire(ctx: &Context, args: RetireArgs) -> Result<()> {
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let key = find(&store, &args.kid)?;
    if !key.can_sign(ctx.now) {
        return Err(Error::KeyUnusable {
            kid: args.kid,
            reason: format!(
                "it is {}, not signing; only the signer can be retired",
                key.state(ctx.now, store.policy.leeway_seconds).name()
            ),
        });
    }
    store.record(
        ctx.now,
        vec![Entry {
            actor: ctx.actor.clone(),
            event: Event::KeyRetired {
                kid: args.kid.clone(),
                reason: args.reason,
            },
        }],
    )?;
    errln!(
        "covenant: retired {}; no key signs now. Run `covenant key rotate` before the next mint",
        args.kid
    );
    Ok(())
}

pub fn revoke(ctx: &Context, args: RevokeArgs) -> Result<()> {
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let key = find(&store, &args.kid)?;
    if let Some(c) = &key.revoked {
        return Err(Error::KeyUnusable {
            kid: args.kid,
            reason: format!(
                "it was already revoked at {}: {}",
                show_time(c.time),
                c.reason
            ),
        });
    }
    if args.reason.trim().is_empty() {
        return Err(Error::Usage(
            "--reason must say what happened; it goes into the ledger".into(),
        ));
    }
    let was_signer = key.can_sign(ctx.now);
    store.record(
        ctx.now,
        vec![Entry {
            actor: ctx.actor.clone(),
            event: Event::KeyRevoked {
                kid: args.kid.clone(),
                reason: args.reason,
            },
        }],
    )?;

    let reopened = Store::open(&ctx.store, Access::Read)?;
    let revoked: Vec<_> = reopened.state.tokens_of(&args.kid).collect();
    if args.json {
        let list: Vec<_> = revoked
            .iter()
            .map(|t| json!({"jti": t.jti, "sub": t.sub, "aud": t.aud, "exp": show_time(t.exp)}))
            .collect();
        print_json(&json!({ "kid": args.kid, "revoked_tokens": list }))?;
    } else {
        for t in &revoked {
            outln!("{}  {}  {}", t.jti, t.sub, show_time(t.exp));
        }
        errln!(
            "covenant: revoked {} and the {} token(s) it signed (listed above); \
             republish the JWKS now: the key has left it",
            args.kid,
            revoked.len()
        );
    }
    if was_signer {
        errln!("covenant: it was the signer; run `covenant key rotate` to make a new one");
    }
    Ok(())
}
