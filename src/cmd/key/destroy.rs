//! `covenant key destroy`: erase a private key that can no longer be
//! needed. The ledger keeps the public half and the fact.

use serde_json::json;

use super::find;
use crate::cmd::{Context, print_json, show_time};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Event};
use crate::store::{Access, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The key id (its RFC 7638 thumbprint). Key ids are base64url and
    /// may begin with `-`, so this is never read as an option.
    #[arg(allow_hyphen_values = true)]
    kid: String,

    /// Destroy it even though tokens it signed are still valid. They stay
    /// valid: verifying needs only the public half.
    #[arg(long, requires = "reason")]
    force: bool,

    /// Why it is destroyed, for the ledger (required with --force).
    #[arg(long, value_parser = crate::cmd::ledger_text)]
    reason: Option<String>,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let leeway = store.policy.leeway_seconds;
    let key = find(&store, &args.kid)?;
    if let Some(c) = &key.destroyed {
        // A crash between the erasure and the ledger record cannot leave a
        // file behind (the file goes first), but a restored backup can.
        let erased = store.erase_key(&args.kid)?;
        if erased {
            errln!("covenant: erased a key file that had come back after destruction");
            return Ok(());
        }
        return Err(Error::KeyUnusable {
            kid: args.kid,
            reason: format!("it was already destroyed at {}", show_time(c.time)),
        });
    }
    if key.can_sign(ctx.now) {
        return Err(Error::KeyUnusable {
            kid: args.kid,
            reason: "it is the signer; run `covenant key rotate` (or `covenant key retire`) \
                     before destroying it"
                .into(),
        });
    }
    let live: Vec<_> = store
        .state
        .tokens_of(&args.kid)
        .filter(|t| t.is_live(ctx.now, leeway))
        .collect();
    if let (Some(latest), false) = (live.iter().map(|t| t.exp).max(), args.force) {
        return Err(Error::KeyUnusable {
            kid: args.kid.clone(),
            reason: format!(
                "{} token(s) it signed are valid until {}; destroying it is refused until then. \
                 Revoke them, wait, or give --force --reason TEXT",
                live.len(),
                show_time(latest)
            ),
        });
    }
    let forced = !live.is_empty();
    let reason = args
        .reason
        .unwrap_or_else(|| "no token it signed is still valid".into());

    // Erase first, then record: a crash in between leaves a ledger that
    // still lists the key, and running destroy again records it.
    let erased = store.erase_key(&args.kid)?;
    if !erased {
        errln!("covenant: warning: the key file was already gone; recording the destruction");
    }
    store.record(
        ctx.now,
        vec![Entry {
            actor: ctx.actor.clone(),
            event: Event::KeyDestroyed {
                kid: args.kid.clone(),
                reason,
                forced,
            },
        }],
    )?;
    if args.json {
        print_json(&json!({ "kid": args.kid, "destroyed": true, "forced": forced }))?;
    } else {
        errln!(
            "covenant: destroyed the private half of {}; its public half stays in the ledger",
            args.kid
        );
    }
    Ok(())
}
