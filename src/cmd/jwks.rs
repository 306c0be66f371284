//! `covenant jwks`: the public keys verifiers need.

use std::path::PathBuf;

use crate::cmd::Context;
use crate::error::Result;
use crate::file::{self, Overwrite};
use crate::jwk;
use crate::store::{Access, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the JWKS to this file (mode 0600, replaced atomically)
    /// instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    ctx.refuse_output_in_store(args.out.as_deref(), "--out")?;
    let store = Store::open(&ctx.store, Access::Read)?;
    let keys: Vec<_> = store
        .state
        .published(ctx.now, store.policy.leeway_seconds)
        .into_iter()
        .map(|k| k.jwk.clone())
        .collect();
    let text =
        serde_json::to_string_pretty(&jwk::jwks(&keys)).expect("JSON always serialises") + "\n";
    match args.out {
        Some(path) => file::write_atomic(&path, text.as_bytes(), Overwrite::Allow),
        None => {
            out!("{text}");
            Ok(())
        }
    }
}
