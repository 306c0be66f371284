//! `covenant key rotate`: the next key becomes the signer and the current
//! one retires, in one ledger write.

use std::path::PathBuf;

use serde_json::json;

use super::{activation, check_alg_allowed, new_key, rsa_bits};
use crate::algorithm::Algorithm;
use crate::cmd::{Context, print_json, show_time};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Event};
use crate::passphrase::PassphraseSource;
use crate::store::{Access, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The algorithm of the new signer. The oldest pre-published next key
    /// of this algorithm is activated; without --alg, the oldest of any.
    /// When keys are pre-published but none has this algorithm, rotate
    /// refuses rather than pass them over. With none pre-published, a key
    /// is generated, by default of the current signer's algorithm.
    #[arg(long, value_parser = super::parse_alg)]
    alg: Option<Algorithm>,

    /// RSA modulus size for a newly generated RS256 or PS256 key.
    #[arg(long)]
    bits: Option<usize>,

    /// Read the new key's passphrase from this file instead of the
    /// terminal. Not needed when a next key is already published.
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,

    /// Why the rotation happens, for the ledger.
    #[arg(long, default_value = "scheduled rotation", value_parser = crate::cmd::ledger_text)]
    reason: String,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let old = store.state.active_key(ctx.now).map(|k| k.kid().to_string());
    let pending: Vec<(String, Algorithm)> = store
        .state
        .next_keys()
        .map(|k| (k.kid().to_string(), k.alg()))
        .collect();
    let chosen = match args.alg {
        Some(asked) => pending.iter().find(|(_, alg)| *alg == asked),
        None => pending.first(),
    };

    let mut entries = Vec::new();
    let (kid, alg, generated) = match (chosen, pending.first()) {
        (Some((kid, alg)), _) => {
            check_alg_allowed(&store, *alg)?;
            (kid.clone(), *alg, false)
        }
        // A pre-published key is never silently passed over: it would stay
        // in the JWKS, unused, for as long as nobody noticed.
        (None, Some((kid, alg))) => {
            return Err(Error::Usage(format!(
                "the pre-published next key {kid} is {alg}, not {}; rotate with --alg {alg} \
                 to activate it, or `covenant key destroy {kid}` first",
                args.alg.map_or("-", |a| a.name())
            )));
        }
        (None, None) => {
            let alg = args
                .alg
                .or_else(|| store.state.last_activated().map(|k| k.alg()))
                .unwrap_or(Algorithm::ES256);
            let bits = rsa_bits(alg, args.bits)?;
            check_alg_allowed(&store, alg)?;
            let source = PassphraseSource::from_option(args.passphrase_file.clone());
            source.check_available()?;
            let (jwk, entry) = new_key(ctx, &store, alg, bits, &source)?;
            entries.push(entry);
            (jwk.kid, alg, true)
        }
    };
    if let Some(old) = &old {
        entries.push(Entry {
            actor: ctx.actor.clone(),
            event: Event::KeyRetired {
                kid: old.clone(),
                reason: format!("{}: rotated to {kid}", args.reason),
            },
        });
    }
    let (entry, until) = activation(ctx, &store, &kid)?;
    entries.push(entry);
    store.record(ctx.now, entries)?;

    report(&args, &kid, alg, generated, old.as_deref(), until)?;
    Ok(())
}

fn report(
    args: &Args,
    kid: &str,
    alg: Algorithm,
    generated: bool,
    old: Option<&str>,
    until: jiff::Timestamp,
) -> Result<()> {
    if args.json {
        print_json(&json!({
            "kid": kid,
            "alg": alg.name(),
            "generated": generated,
            "retired": old,
            "signs_until": show_time(until),
        }))?;
        return Ok(());
    }
    if !generated {
        errln!("covenant: activated the pre-published next key");
    } else {
        errln!(
            "covenant: generated a new {alg} key; it was not pre-published, so gateways that \
             cache the JWKS may reject its tokens until they refresh it"
        );
    }
    match old {
        Some(old) => errln!("covenant: retired {old}; it stays published while its tokens live"),
        None => errln!("covenant: no key was signing before this rotation"),
    }
    errln!(
        "covenant: {kid} signs until {}; republish the JWKS",
        show_time(until)
    );
    outln!("{kid}");
    Ok(())
}
