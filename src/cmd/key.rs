//! `covenant key`: generate, list, rotate, retire, revoke, destroy,
//! rewrap and export signing keys. docs/lifecycle.md describes the life
//! these commands move a key through.

mod destroy;
mod export;
mod retire;
mod rewrap;
mod rotate;

use std::path::PathBuf;

use jiff::Timestamp;
use serde_json::json;

use crate::algorithm::Algorithm;
use crate::cmd::{Context, print_json, show_time};
use crate::custody;
use crate::error::{Error, Result};
use crate::jwk::Jwk;
use crate::key::{self, Custody, DEFAULT_RSA_BITS};
use crate::ledger::{Entry, Event};
use crate::passphrase::PassphraseSource;
use crate::store::{Access, Store};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Generate a signing key. It signs at once when no key signs;
    /// otherwise, or with --next, it is published to wait for `key rotate`.
    Generate(GenerateArgs),
    /// List the signing keys with their state and windows.
    List(ListArgs),
    /// Make the next key the signer and retire the current one.
    Rotate(rotate::Args),
    /// Stop a key signing now; it stays published while its tokens live.
    Retire(retire::RetireArgs),
    /// Revoke a compromised key: it leaves the JWKS at once and every token
    /// it signed is revoked.
    Revoke(retire::RevokeArgs),
    /// Erase a key's private half; the ledger keeps its public half.
    Destroy(destroy::Args),
    /// Change who can unlock a key: a new passphrase, or age recipients.
    Rewrap(rewrap::Args),
    /// Print a key's public half as a JWK or a PEM SubjectPublicKeyInfo.
    Export(export::Args),
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The signature algorithm; the policy must allow it.
    #[arg(long, default_value = "ES256", value_parser = parse_alg)]
    alg: Algorithm,

    /// RSA modulus size: 2048, 3072 or 4096 (RS256 and PS256 only).
    #[arg(long)]
    bits: Option<usize>,

    /// Read the new key's passphrase from this file instead of the
    /// terminal.
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,

    /// Publish the key to sign next without activating it, even when no
    /// key signs now, so that gateways cache it before `covenant key
    /// rotate` (docs/lifecycle.md recommends doing this 30 days ahead).
    /// Without --next, the key signs at once when no key signs; otherwise
    /// it waits for the rotation too.
    #[arg(long)]
    next: bool,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print the keys as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_alg(s: &str) -> Result<Algorithm, String> {
    s.parse()
}

pub fn run(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Generate(args) => generate(ctx, args),
        Command::List(args) => list(ctx, args),
        Command::Rotate(args) => rotate::run(ctx, args),
        Command::Retire(args) => retire::retire(ctx, args),
        Command::Revoke(args) => retire::revoke(ctx, args),
        Command::Destroy(args) => destroy::run(ctx, args),
        Command::Rewrap(args) => rewrap::run(ctx, args),
        Command::Export(args) => export::run(ctx, args),
    }
}

fn generate(ctx: &Context, args: GenerateArgs) -> Result<()> {
    let bits = rsa_bits(args.alg, args.bits)?;
    let mut store = Store::open(&ctx.store, Access::Write)?;
    check_alg_allowed(&store, args.alg)?;
    // With a signer in place, a new key always waits for `key rotate`:
    // two keys never sign at once.
    let activate = !args.next && store.state.active_key(ctx.now).is_none();
    let source = PassphraseSource::from_option(args.passphrase_file);
    source.check_available()?;

    let (jwk, generated) = new_key(ctx, &store, args.alg, bits, &source)?;
    let mut entries = vec![generated];
    let mut signs_until = None;
    if activate {
        let (entry, until) = activation(ctx, &store, &jwk.kid)?;
        entries.push(entry);
        signs_until = Some(until);
    }
    store.record(ctx.now, entries)?;

    if args.json {
        print_json(&json!({
            "kid": jwk.kid,
            "alg": args.alg.name(),
            "state": if signs_until.is_some() { "active" } else { "next" },
            "signs_until": signs_until.map(show_time),
            "file": store.key_path(&jwk.kid),
        }))?;
    } else {
        match signs_until {
            Some(until) => errln!(
                "covenant: generated {} key; it signs until {}",
                args.alg,
                show_time(until)
            ),
            None => errln!(
                "covenant: generated {} key; it is published and waits for \
                 `covenant key rotate`; republish the JWKS now",
                args.alg
            ),
        }
        outln!("{}", jwk.kid);
    }
    Ok(())
}

/// The RSA modulus size to generate, checked; 0 for other algorithms.
fn rsa_bits(alg: Algorithm, bits: Option<usize>) -> Result<usize> {
    let bits = match (alg.is_rsa(), bits) {
        (true, bits) => bits.unwrap_or(DEFAULT_RSA_BITS),
        (false, None) => 0,
        (false, Some(_)) => {
            return Err(Error::Usage(format!(
                "--bits applies to RSA keys only, not {alg}"
            )));
        }
    };
    if alg.is_rsa() && !key::RSA_BITS.contains(&bits) {
        return Err(Error::Usage(format!(
            "--bits must be 2048, 3072 or 4096 (RSA under 2048 bits is refused), not {bits}"
        )));
    }
    Ok(bits)
}

fn check_alg_allowed(store: &Store, alg: Algorithm) -> Result<()> {
    if store.policy.algorithms.contains(&alg) {
        return Ok(());
    }
    let allowed: Vec<_> = store.policy.algorithms.iter().map(|a| a.name()).collect();
    Err(Error::Usage(format!(
        "the policy does not allow {alg} keys; it allows {}",
        allowed.join(", ")
    )))
}

/// Generates a key, seals it under a new passphrase and writes its file.
/// Returns its JWK and the ledger entry that records it.
fn new_key(
    ctx: &Context,
    store: &Store,
    alg: Algorithm,
    bits: usize,
    source: &PassphraseSource,
) -> Result<(Jwk, Entry)> {
    let passphrase = source.new_secret(&format!("the new {alg} key"))?;
    if alg.is_rsa() {
        errln!("covenant: generating a {bits}-bit RSA key; this can take a while");
    }
    let pkcs8 = key::generate(alg, bits).map_err(Error::Usage)?;
    let jwk = Jwk::new(key::public_key(alg, &pkcs8).map_err(Error::Usage)?, alg);
    let sealed = key::seal(&pkcs8, Custody::Passphrase(passphrase)).map_err(Error::Usage)?;
    drop(pkcs8);
    store.write_key(&jwk.kid, &sealed)?;
    let entry = Entry {
        actor: ctx.actor.clone(),
        event: Event::KeyGenerated {
            kid: jwk.kid.clone(),
            alg,
            jwk: jwk.to_json(),
            custody: custody::PASSPHRASE.into(),
        },
    };
    Ok((jwk, entry))
}

/// The ledger entry that makes `kid` the signer from now, and when its
/// signing window closes: after the policy's signing period, or at its
/// latest publication date if the policy's key lifetime ends sooner.
fn activation(ctx: &Context, store: &Store, kid: &str) -> Result<(Entry, Timestamp)> {
    let period_end = store
        .policy
        .key_signing_period
        .after(ctx.now)
        .ok_or_else(|| Error::Usage("the key signing period runs past the year 9999".into()))?;
    let publish_limit = store
        .policy
        .key_max_lifetime
        .as_ref()
        .and_then(|p| p.after(ctx.now));
    let until = publish_limit.map_or(period_end, |l| l.min(period_end));
    let entry = Entry {
        actor: ctx.actor.clone(),
        event: Event::KeyActivated {
            kid: kid.to_string(),
            signs_until: until.as_second(),
            publish_limit: publish_limit.map(|t| t.as_second()),
        },
    };
    Ok((entry, until))
}

/// The key `kid` names, or an error that says how to list the keys.
fn find<'a>(store: &'a Store, kid: &str) -> Result<&'a crate::state::Key> {
    store.state.key(kid).ok_or_else(|| Error::KeyNotFound {
        kid: kid.to_string(),
    })
}

fn list(ctx: &Context, args: ListArgs) -> Result<()> {
    // Inspected rather than opened, so that a missing root key file is
    // shown instead of refused.
    let store = Store::inspect(&ctx.store)?;
    let leeway = store.policy.leeway_seconds;
    let keys = &store.state.keys;
    let files = store.key_files();
    let file_of = |kid: &str| {
        files
            .iter()
            .find(|f| f.key.is_some_and(|k| k.kid() == kid))
            .map(|f| f.state.name())
    };
    if args.json {
        let list: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({
                    "kid": k.kid(),
                    "alg": k.alg().name(),
                    "state": k.state(ctx.now, leeway).name(),
                    "created": show_time(k.created),
                    "signs_from": k.activated.map(show_time),
                    "signs_until": k.signing_ends().map(show_time),
                    "tokens": k.tokens,
                    "published_until": k.activated.map(|_| show_time(k.published_until(leeway))),
                    "custody": k.custody,
                    "recipients": k.recipients,
                    "retired": k.retired.as_ref().map(|c| show_time(c.time)),
                    "revoked": k.revoked.as_ref().map(|c| show_time(c.time)),
                    "destroyed": k.destroyed.as_ref().map(|c| show_time(c.time)),
                    "key_file": file_of(k.kid()),
                })
            })
            .collect();
        // `key_files` lists the root key's file first.
        let root_file = files[0].state.name();
        print_json(&json!({ "root_key_file": root_file, "keys": list }))?;
    } else if keys.is_empty() {
        errln!("covenant: no signing keys yet; run `covenant key generate`");
    } else {
        outln!(
            "{:<43}  {:<5}  {:<9}  {:<20}  {:<20}  {:<20}  {:<6}  FILE",
            "KID",
            "ALG",
            "STATE",
            "CREATED",
            "SIGNS FROM",
            "SIGNS UNTIL",
            "TOKENS"
        );
        for k in keys {
            outln!(
                "{:<43}  {:<5}  {:<9}  {:<20}  {:<20}  {:<20}  {:<6}  {}",
                k.kid(),
                k.alg().name(),
                k.state(ctx.now, leeway).name(),
                show_time(k.created),
                k.activated.map_or("-".into(), show_time),
                k.signing_ends().map_or("-".into(), show_time),
                k.tokens,
                file_of(k.kid()).unwrap_or("-"),
            );
        }
    }

    // The listing stands either way; a warning says what to do.
    for f in files.iter().filter(|f| !f.state.is_ok()) {
        errln!(
            "covenant: warning: {}; restore it from a backup of the store",
            f.problem(ctx.now, leeway)
        );
    }
    Ok(())
}
