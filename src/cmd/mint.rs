//! `covenant mint`: partner tokens from contract files.
//!
//! Every check runs before the key is unlocked: the contract against the
//! policy, the signing key's window, the output path. Only then is the
//! passphrase asked for, the token signed and checked against the public
//! key, its digest appended to the ledger, and the token handed out. The
//! ledger is written before the token, so a token that exists is always
//! on record.
//!
//! One contract file gives one token on stdout or in `--out FILE`. Many
//! contracts, or a folder of them, with `--out-dir DIR` are a batch; see
//! [`batch`].

mod batch;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use ring::rand::SystemRandom;
use serde_json::json;
use zeroize::Zeroizing;

use crate::cmd::{Context, show_time};
use crate::contract::Contract;
use crate::custody::Unlock;
use crate::error::{Error, Result};
use crate::file;
use crate::key::SigningKey;
use crate::ledger::{Entry, Event};
use crate::state::Key;
use crate::store::{Access, Store};
use crate::token;
use crate::verify::{self, Expectations};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contract files (TOML; see docs/contracts.md). A folder stands
    /// for every `*.toml` file directly in it. More than one contract needs
    /// --out-dir.
    #[arg(value_name = "CONTRACT", required = true)]
    contracts: Vec<PathBuf>,

    /// Write the token to this new file (mode 0600) instead of stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "out_dir")]
    out: Option<PathBuf>,

    /// Write each token to DIR/NAME.jwt (mode 0600), NAME being the
    /// contract file's name without `.toml`. The folder is created if
    /// missing; no existing file is ever replaced.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,

    /// With --out-dir: mint the contracts that pass and report the others,
    /// instead of minting none when one is refused.
    #[arg(long, requires = "out_dir")]
    keep_going: bool,

    /// Read the signing key's passphrase from this file instead of the
    /// terminal.
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,

    /// Unlock the signing key with this age identity file, when the key is
    /// sealed to age X25519 recipients (see `covenant key rewrap`).
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_file")]
    identity: Option<PathBuf>,

    /// Print a JSON summary (with the token) instead of the bare token;
    /// for a batch, one document describing every token and refusal.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    if args.out_dir.is_some() {
        return batch::run(ctx, args);
    }
    let single = match args.contracts.as_slice() {
        [one] if !one.is_dir() => one.clone(),
        _ => {
            return Err(Error::Usage(
                "minting several contracts, or a folder of them, needs --out-dir DIR: \
                 each token is written to its own file there"
                    .into(),
            ));
        }
    };
    run_single(ctx, &args, &single)
}

fn run_single(ctx: &Context, args: &Args, path: &Path) -> Result<()> {
    if args.json {
        batch::require_utf8(&args.out)?;
    }
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let bytes = file::read_input(path, file::MAX_INPUT)?;
    let contract = Contract::check(path, &bytes, &store.policy, ctx.now)?;

    let key = signing_key(&store, ctx.now)?;
    check_publish_limit(key, &contract)?;
    // The output file is created (under a temporary name) before anything
    // is signed or recorded, so that an unwritable destination refuses the
    // mint instead of leaving a recorded token nobody received.
    if let Some(out) = &args.out {
        ctx.refuse_output_in_store(Some(out), "--out")?;
    }
    let out = args.out.as_deref().map(prepare_out).transpose()?;
    let kid = key.kid().to_string();
    let unlock = Unlock::from_options(args.passphrase_file.clone(), args.identity.clone());
    unlock.check_for(&kid, &store.current_custody(&kid)?)?;
    let signer = store.unlock(&kid, &unlock)?;

    let jti = token::new_jti(&SystemRandom::new());
    let minted =
        token::mint(&signer, &store.policy.issuer, &contract, &jti, ctx.now).map_err(|reason| {
            Error::KeyUnusable {
                kid: kid.clone(),
                reason,
            }
        })?;
    self_check(&store, &signer, &minted.token, ctx.now)?;

    store.record(ctx.now, vec![entry(ctx, &kid, &minted.issued)])?;

    for warning in &contract.warnings {
        errln!("covenant: warning: {}: {warning}", contract.path.display());
    }
    if let (Some(tmp), Some(path)) = (out, &args.out) {
        let mut text = minted.token.as_bytes().to_vec();
        text.push(b'\n');
        let written = file::persist_new(tmp, &text, path);
        zeroize::Zeroize::zeroize(&mut text);
        written.map_err(|e| undelivered(&jti, &e.to_string()))?;
    }
    let summary = json!({
        "jti": jti,
        "kid": kid,
        "sub": contract.partner,
        "aud": contract.audience,
        "scope": contract.scopes.join(" "),
        "nbf": contract.nbf.as_second(),
        "exp": contract.exp.as_second(),
        "token_sha256": minted.issued.token_sha256,
        "out": args.out,
    });
    if args.json {
        let mut doc = summary;
        if args.out.is_none() {
            doc["token"] = json!(minted.token.as_str());
        }
        let text = Zeroizing::new(serde_json::to_string_pretty(&doc).expect("JSON serialises"));
        write_stdout(&text).map_err(|e| undelivered(&jti, &e))?;
    } else {
        errln!(
            "covenant: minted {jti} for {} (kid {kid}), valid {} to {}",
            contract.partner,
            show_time(contract.nbf),
            show_time(contract.exp)
        );
        if args.out.is_none() {
            write_stdout(&minted.token).map_err(|e| undelivered(&jti, &e))?;
        }
    }
    Ok(())
}

/// The key that signs now: the active one, if the policy still allows its
/// algorithm.
fn signing_key(store: &Store, now: Timestamp) -> Result<&Key> {
    let key = store
        .state
        .active_key(now)
        .ok_or_else(|| no_signer(store, now))?;
    if !store.policy.algorithms.contains(&key.alg()) {
        return Err(Error::KeyUnusable {
            kid: key.kid().to_string(),
            reason: format!(
                "the policy no longer allows {}; rotate to an allowed algorithm",
                key.alg()
            ),
        });
    }
    Ok(key)
}

/// Refuses a contract whose token would outlive the key's publication:
/// gateways would drop the key while the token is still meant to work.
fn check_publish_limit(key: &Key, contract: &Contract) -> Result<()> {
    if let Some(limit) = key.publish_limit
        && contract.exp > limit
    {
        return Err(Error::KeyUnusable {
            kid: key.kid().to_string(),
            reason: format!(
                "the token would expire on {} but the key may stay published only until {}; \
                 a verifier would drop the key first. Shorten the contract or rotate",
                show_time(contract.exp),
                show_time(limit)
            ),
        });
    }
    Ok(())
}

/// Checks a token as a gateway would, before it leaves this machine: the
/// signature with the public key, and the claims against the policy's
/// issuer and the token's own audience, at the moment it becomes valid.
fn self_check(store: &Store, signer: &SigningKey, token: &str, now: Timestamp) -> Result<()> {
    let unusable = |reason: String| Error::KeyUnusable {
        kid: signer.jwk().kid.clone(),
        reason: format!("self-check failed: {reason}"),
    };
    let issued = token::Issued::read(token).map_err(unusable)?;
    let nbf = Timestamp::from_second(issued.nbf).map_err(|e| unusable(e.to_string()))?;
    let expect = Expectations {
        audiences: Some(vec![issued.aud]),
        issuer: Some(store.policy.issuer.clone()),
        leeway_seconds: store.policy.leeway_seconds,
        now: nbf.max(now),
    };
    verify::verify(token, std::slice::from_ref(signer.jwk()), &expect)
        .map(drop)
        .map_err(unusable)
}

/// The ledger record of a minted token, taken from the token itself.
fn entry(ctx: &Context, kid: &str, issued: &token::Issued) -> Entry {
    Entry {
        actor: ctx.actor.clone(),
        event: Event::TokenMinted {
            jti: issued.jti.clone(),
            kid: kid.to_string(),
            sub: issued.sub.clone(),
            aud: issued.aud.clone(),
            scope: issued.scope.clone(),
            iat: issued.iat,
            nbf: issued.nbf,
            exp: issued.exp,
            contract_id: issued.contract_id().to_string(),
            contract_sha256: issued.contract_sha256().to_string(),
            token_sha256: issued.token_sha256.clone(),
        },
    }
}

/// Why nothing can sign now, and what to do about it.
fn no_signer(store: &Store, now: Timestamp) -> Error {
    let Some(k) = store.state.last_activated() else {
        return Error::NoActiveKey;
    };
    let reason = if let Some(c) = &k.revoked {
        format!(
            "it was revoked at {} ({}); run `covenant key rotate` to make a new signer",
            show_time(c.time),
            c.reason
        )
    } else if let Some(c) = k.retired.as_ref().filter(|c| c.time <= now) {
        format!(
            "it was retired at {}; run `covenant key rotate` to make a new signer",
            show_time(c.time)
        )
    } else {
        format!(
            "its signing period ended at {}; run `covenant key rotate` before minting",
            k.signs_until.map_or("-".into(), show_time)
        )
    };
    Error::KeyUnusable {
        kid: k.kid().to_string(),
        reason,
    }
}

/// Checks `--out` and creates its temporary file beside it. A path that
/// exists in any form, even as a dangling symbolic link, is refused.
fn prepare_out(path: &Path) -> Result<tempfile::NamedTempFile> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(Error::Usage(format!(
            "{}: the output file exists; covenant does not overwrite tokens",
            path.display()
        )));
    }
    let dir = file::parent_of(path);
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: no such directory for --out",
            dir.display()
        )));
    }
    file::new_temp_in(dir)
}

/// Writes the product to stdout, reporting failure instead of panicking.
fn write_stdout(text: &str) -> std::result::Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}

/// A token that is on record but did not reach its destination must be
/// revoked, or the ledger would count a token nobody holds as live.
fn undelivered(jti: &str, reason: &str) -> Error {
    Error::Usage(format!(
        "token {jti} is recorded in the ledger but was not delivered ({reason}); \
         revoke it with `covenant revoke {jti} --reason undelivered`"
    ))
}
