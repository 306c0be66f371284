//! `covenant revocations`: the signed revocation list gateways load.
//!
//! The list is a compact JWS signed by the root key with `typ`
//! `covenant-revocations+jwt`, so any JOSE library verifies it with the
//! root's public JWK (published in every manifest and by `covenant status
//! --json`); docs/revocations.md describes the claims. It is recorded in
//! the ledger like every use of the root key.

use std::path::PathBuf;

use serde_json::json;

use crate::cmd::Context;
use crate::error::Result;
use crate::file::{self, Overwrite};
use crate::ledger::{Entry, Event};
use crate::passphrase::PassphraseSource;
use crate::root;
use crate::store::{Access, Store, sha256_hex};

/// The JWS `typ` of a revocation list.
pub const TYP: &str = "covenant-revocations+jwt";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the list to this file (mode 0600, replaced atomically) instead
    /// of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Read the root key's passphrase from this file instead of the
    /// terminal.
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    ctx.refuse_output_in_store(args.out.as_deref(), "--out")?;
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let source = PassphraseSource::from_option(args.passphrase_file);
    source.check_available()?;
    let signer = root::unlock(&store, &source)?;

    let tokens: Vec<_> = store
        .state
        .revoked_tokens()
        .map(|t| {
            let change = t
                .revoked
                .as_ref()
                .expect("revoked_tokens yields revoked tokens");
            json!({
                "jti": t.jti,
                "kid": t.kid,
                "sub": t.sub,
                "exp": t.exp.as_second(),
                "revoked_at": change.time.as_second(),
                "reason": change.reason,
            })
        })
        .collect();
    let keys: Vec<_> = store
        .state
        .revoked_keys()
        .map(|k| {
            let change = k
                .revoked
                .as_ref()
                .expect("revoked_keys yields revoked keys");
            json!({
                "kid": k.kid(),
                "revoked_at": change.time.as_second(),
                "reason": change.reason,
            })
        })
        .collect();
    let head = store.head().hash.clone();
    let claims = json!({
        "iss": store.state.issuer,
        "iat": ctx.now.as_second(),
        "ledger_head": head,
        "revoked_keys": keys,
        "revoked_tokens": tokens,
    });
    let jws = signer.sign_jws(TYP, &claims)?;
    let sha256 = sha256_hex(jws.as_bytes());

    store.record(
        ctx.now,
        vec![Entry {
            actor: ctx.actor.clone(),
            event: Event::RevocationsExported {
                head,
                keys: keys.len() as u64,
                sha256,
                tokens: tokens.len() as u64,
            },
        }],
    )?;
    match &args.out {
        Some(path) => file::write_atomic(path, format!("{jws}\n").as_bytes(), Overwrite::Allow)?,
        None => outln!("{jws}"),
    }
    errln!(
        "covenant: revocation list of {} tokens and {} keys signed by root {}",
        tokens.len(),
        keys.len(),
        root::fingerprint(signer.jwk())
    );
    Ok(())
}
