//! `covenant key`: generate and list signing keys.

use std::path::PathBuf;

use serde_json::json;

use crate::algorithm::Algorithm;
use crate::cmd::{Context, print_json, show_time};
use crate::error::{Error, Result};
use crate::jwk::Jwk;
use crate::key::{self, Custody, DEFAULT_RSA_BITS};
use crate::ledger::{Entry, Event};
use crate::passphrase::PassphraseSource;
use crate::store::{Access, Store};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Generate a signing key. The first key becomes the signer.
    Generate(GenerateArgs),
    /// List the signing keys with their state and windows.
    List(ListArgs),
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
    }
}

fn generate(ctx: &Context, args: GenerateArgs) -> Result<()> {
    let bits = match (args.alg.is_rsa(), args.bits) {
        (true, bits) => bits.unwrap_or(DEFAULT_RSA_BITS),
        (false, None) => 0,
        (false, Some(_)) => {
            return Err(Error::Usage(format!(
                "--bits applies to RSA keys only, not {}",
                args.alg
            )));
        }
    };
    if args.alg.is_rsa() && !key::RSA_BITS.contains(&bits) {
        return Err(Error::Usage(format!(
            "--bits must be 2048, 3072 or 4096 (RSA under 2048 bits is refused), not {bits}"
        )));
    }
    let mut store = Store::open(&ctx.store, Access::Write)?;
    if !store.policy.algorithms.contains(&args.alg) {
        let allowed: Vec<_> = store.policy.algorithms.iter().map(|a| a.name()).collect();
        return Err(Error::Usage(format!(
            "the policy does not allow {} keys; it allows {}",
            args.alg,
            allowed.join(", ")
        )));
    }
    let source = PassphraseSource::from_option(args.passphrase_file);
    source.check_available()?;
    let passphrase = source.new_secret(&format!("the new {} key", args.alg))?;

    if args.alg.is_rsa() {
        eprintln!("covenant: generating a {bits}-bit RSA key; this can take a while");
    }
    let pkcs8 = key::generate(args.alg, bits).map_err(Error::Usage)?;
    let jwk = Jwk::new(
        key::public_key(args.alg, &pkcs8).map_err(Error::Usage)?,
        args.alg,
    );
    let sealed = key::seal(&pkcs8, Custody::Passphrase(passphrase)).map_err(Error::Usage)?;
    drop(pkcs8);
    store.write_key(&jwk.kid, &sealed)?;

    let mut entries = vec![Entry {
        actor: ctx.actor.clone(),
        event: Event::KeyGenerated {
            kid: jwk.kid.clone(),
            alg: args.alg,
            jwk: jwk.to_json(),
            custody: "passphrase".into(),
        },
    }];
    let activate = store.state.active_key(ctx.now).is_none();
    let mut signs_until = None;
    if activate {
        let until = store
            .policy
            .key_signing_period
            .after(ctx.now)
            .ok_or_else(|| Error::Usage("the key signing period runs past the year 9999".into()))?;
        let publish_limit = store
            .policy
            .key_max_lifetime
            .as_ref()
            .and_then(|p| p.after(ctx.now))
            .map(|t| t.as_second());
        signs_until = Some(until);
        entries.push(Entry {
            actor: ctx.actor.clone(),
            event: Event::KeyActivated {
                kid: jwk.kid.clone(),
                signs_until: until.as_second(),
                publish_limit,
            },
        });
    }
    store.record(ctx.now, entries)?;

    if args.json {
        print_json(&json!({
            "kid": jwk.kid,
            "alg": args.alg.name(),
            "state": if activate { "active" } else { "next" },
            "signs_until": signs_until.map(show_time),
            "file": store.key_path(&jwk.kid),
        }));
    } else {
        match signs_until {
            Some(until) => eprintln!(
                "covenant: generated {} key; it signs until {}",
                args.alg,
                show_time(until)
            ),
            None => eprintln!(
                "covenant: generated {} key; it is published and waits to sign",
                args.alg
            ),
        }
        println!("{}", jwk.kid);
    }
    Ok(())
}

fn list(ctx: &Context, args: ListArgs) -> Result<()> {
    let store = Store::open(&ctx.store, Access::Read)?;
    let leeway = store.policy.leeway_seconds;
    let keys = &store.state.keys;
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
                    "signs_until": k.signs_until.map(show_time),
                    "tokens": k.tokens,
                    "published_until": k.activated.map(|_| show_time(k.published_until(leeway))),
                })
            })
            .collect();
        print_json(&json!({ "keys": list }));
        return Ok(());
    }
    if keys.is_empty() {
        eprintln!("covenant: no signing keys yet; run `covenant key generate`");
        return Ok(());
    }
    println!(
        "{:<43}  {:<5}  {:<7}  {:<20}  {:<20}  {:<20}  TOKENS",
        "KID", "ALG", "STATE", "CREATED", "SIGNS FROM", "SIGNS UNTIL"
    );
    for k in keys {
        println!(
            "{:<43}  {:<5}  {:<7}  {:<20}  {:<20}  {:<20}  {}",
            k.kid(),
            k.alg().name(),
            k.state(ctx.now, leeway).name(),
            show_time(k.created),
            k.activated.map_or("-".into(), show_time),
            k.signs_until.map_or("-".into(), show_time),
            k.tokens,
        );
    }
    Ok(())
}
