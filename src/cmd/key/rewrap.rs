//! `covenant key rewrap`: change how a private key is unlocked, without it
//! ever leaving memory in clear.
//!
//! The key is unsealed with its current custody, sealed again under the new
//! one, checked, and the new file replaces the old before the old file's
//! content is overwritten.

use std::path::PathBuf;

use age::secrecy::SecretString;
use serde_json::json;

use super::find;
use crate::cmd::{Context, print_json};
use crate::custody::{self, Unlock};
use crate::error::{Error, Result};
use crate::key::{self, Custody};
use crate::ledger::{Entry, Event};
use crate::passphrase::PassphraseSource;
use crate::store::{Access, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The key id (its RFC 7638 thumbprint). Key ids are base64url and
    /// may begin with `-`, so this is never read as an option.
    #[arg(allow_hyphen_values = true)]
    kid: String,

    /// Seal the key to this age X25519 recipient (age1…). Repeat it for
    /// each officer: any one of them can then unlock the key, with
    /// `--identity FILE` on mint.
    #[arg(long, value_name = "AGE1…")]
    recipient: Vec<String>,

    /// Read recipients from this file, one per line; blank lines and lines
    /// starting with # are skipped.
    #[arg(long, value_name = "FILE")]
    recipients_file: Option<PathBuf>,

    /// Read the current passphrase from this file instead of the terminal.
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,

    /// Unlock the key with this age identity file, when it is sealed to
    /// recipients now.
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_file")]
    identity: Option<PathBuf>,

    /// Without recipients: read the new passphrase from this file instead
    /// of the terminal.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["recipient", "recipients_file"])]
    new_passphrase_file: Option<PathBuf>,

    /// Why custody changes, for the ledger.
    #[arg(long, default_value = "custody changed", value_parser = crate::cmd::ledger_text)]
    reason: String,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// The custody a key moves to.
enum Target {
    Passphrase(SecretString),
    Recipients(Vec<age::x25519::Recipient>),
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let key = find(&store, &args.kid)?;
    if let Some(c) = &key.destroyed {
        return Err(Error::KeyUnusable {
            kid: args.kid,
            reason: format!(
                "its private half was destroyed at {}; there is nothing to rewrap",
                crate::cmd::show_time(c.time)
            ),
        });
    }
    let unlock = Unlock::from_options(args.passphrase_file.clone(), args.identity.clone());
    unlock.check_for(&args.kid, &store.current_custody(&args.kid)?)?;
    let recipients = custody::recipients(&args.recipient, args.recipients_file.as_deref())?;
    if let Some(file) = &args.recipients_file
        && recipients.is_empty()
    {
        return Err(Error::Usage(format!(
            "{}: the recipients file names no recipient; nothing was changed",
            file.display()
        )));
    }
    let new_source = PassphraseSource::from_option(args.new_passphrase_file.clone());
    if recipients.is_empty() {
        new_source.check_available()?;
    }

    let pkcs8 = store.unseal(&args.kid, &unlock)?;
    let target = if recipients.is_empty() {
        Target::Passphrase(new_source.new_secret(&format!("key {}", args.kid))?)
    } else {
        Target::Recipients(recipients)
    };
    let sealed = match &target {
        Target::Passphrase(p) => key::seal(&pkcs8, Custody::Passphrase(p.clone())),
        Target::Recipients(list) => key::seal(&pkcs8, Custody::Recipients(list)),
    }
    .map_err(Error::Usage)?;
    if let Target::Passphrase(p) = &target
        && !store.check_resealed(&sealed, p.clone(), &pkcs8)
    {
        return Err(Error::KeyFile {
            path: store.key_path(&args.kid),
            reason: "the resealed key did not open again; nothing was changed".into(),
        });
    }
    drop(pkcs8);

    let (custody, listed) = match &target {
        Target::Passphrase(_) => (custody::PASSPHRASE, Vec::new()),
        Target::Recipients(list) => (
            custody::RECIPIENTS,
            list.iter().map(|r| r.to_string()).collect(),
        ),
    };
    store.replace_key(&args.kid, &sealed)?;
    store.record(
        ctx.now,
        vec![Entry {
            actor: ctx.actor.clone(),
            event: Event::KeyRewrapped {
                kid: args.kid.clone(),
                custody: custody.into(),
                recipients: listed.clone(),
                reason: args.reason,
            },
        }],
    )?;
    if args.json {
        print_json(&json!({ "kid": args.kid, "custody": custody, "recipients": listed }))?;
    } else if listed.is_empty() {
        errln!("covenant: {} now opens with the new passphrase", args.kid);
    } else {
        errln!(
            "covenant: {} now opens with the identity of any one of {} recipient(s)",
            args.kid,
            listed.len()
        );
    }
    Ok(())
}
