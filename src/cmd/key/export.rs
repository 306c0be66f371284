//! `covenant key export --public`: a key's public half, for verifiers
//! that want one key rather than the JWKS.

use std::path::PathBuf;

use super::find;
use crate::cmd::Context;
use crate::error::Result;
use crate::file::{self, Overwrite};
use crate::store::{Access, Store};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// A JSON Web Key (RFC 7517) as published in the JWKS.
    Jwk,
    /// A PEM SubjectPublicKeyInfo (RFC 5280, RFC 7468), as OpenSSL reads.
    Pem,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The key id (its RFC 7638 thumbprint). Key ids are base64url and
    /// may begin with `-`, so this is never read as an option.
    #[arg(allow_hyphen_values = true)]
    kid: String,

    /// Export the public half. Required: covenant never exports a private
    /// key; `covenant key rewrap` changes who can unlock one.
    #[arg(long, required = true)]
    public: bool,

    /// The output format.
    #[arg(long, value_enum, default_value = "jwk")]
    format: Format,

    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    debug_assert!(args.public, "clap requires --public");
    ctx.refuse_output_in_store(args.out.as_deref(), "--out")?;
    let store = Store::open(&ctx.store, Access::Read)?;
    let jwk = &find(&store, &args.kid)?.jwk;
    let text = match args.format {
        Format::Jwk => {
            serde_json::to_string_pretty(&jwk.to_json()).expect("JSON always serialises") + "\n"
        }
        Format::Pem => jwk.key.to_spki_pem(),
    };
    match args.out {
        Some(path) => file::write_atomic(&path, text.as_bytes(), Overwrite::Refuse),
        None => {
            out!("{text}");
            Ok(())
        }
    }
}
