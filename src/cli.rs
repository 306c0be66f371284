//! The command line, as clap parses it. Each subcommand's arguments live
//! with the code that runs it, in `cmd/`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cmd;

/// Offline key ceremonies, contract-scoped partner JWTs and signed audit
/// trails.
///
/// Passphrases are read from the terminal, or from --passphrase-file for
/// automation; never from the command line or the environment.
///
/// Exit status: 0 success; 1 a verification ran and failed (the token or
/// ledger is not valid); 2 the command could not do its job (bad input,
/// refused by policy, missing store, wrong passphrase, usage error).
#[derive(Debug, Parser)]
#[command(name = "covenant", version, max_term_width = 100)]
pub struct Cli {
    /// The store directory.
    #[arg(
        long,
        global = true,
        env = "COVENANT_STORE",
        default_value = "covenant-store"
    )]
    pub store: PathBuf,

    /// Who is acting, for the ledger. Defaults to the login name.
    #[arg(long, global = true, env = "COVENANT_ACTOR")]
    pub actor: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a store: policy, root key and ledger.
    Init(cmd::init::Args),
    /// Generate, rotate, retire, revoke, destroy and rewrap signing keys.
    #[command(subcommand)]
    Key(cmd::key::Command),
    /// Print the JWKS that verifiers need.
    Jwks(cmd::jwks::Args),
    /// Mint a partner token from a contract file.
    Mint(cmd::mint::Args),
    /// Verify a token against a JWKS.
    Verify(cmd::verify::Args),
    /// Export or verify a root-signed manifest for auditors.
    #[command(subcommand)]
    Manifest(cmd::manifest::Command),
    /// Check the store's ledger.
    #[command(subcommand)]
    Ledger(cmd::ledger::Command),
    /// Read the ledger, filtered by partner, key, kind or time.
    Log(cmd::log::Args),
    /// Export the root-signed revocation list for gateways.
    Revocations(cmd::revocations::Args),
    /// Revoke one token by its jti.
    Revoke(cmd::revoke::Args),
    /// Which key signs, until when, and what is due.
    Status(cmd::status::Args),
    /// Run a scripted key ceremony, or verify its transcript.
    #[command(subcommand)]
    Ceremony(cmd::ceremony::Command),
}
