//! `covenant init`: create a store.

use std::path::PathBuf;

use serde_json::json;

use crate::cmd::{Context, print_json};
use crate::error::{Error, Result};
use crate::file;
use crate::passphrase::PassphraseSource;
use crate::policy::Policy;
use crate::store::{NewStore, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The issuer URL, written to the policy and to every token as `iss`.
    #[arg(long, required_unless_present = "policy")]
    issuer: Option<String>,

    /// Start from this policy file instead of the commented template.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// Read the root key's passphrase from this file instead of the
    /// terminal.
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let policy_text = match (&args.policy, &args.issuer) {
        (Some(path), issuer) => {
            let text = file::read_text(path)?;
            let policy = Policy::parse(path, &text)?;
            if let Some(issuer) = issuer
                && *issuer != policy.issuer
            {
                return Err(Error::Usage(format!(
                    "--issuer {issuer:?} differs from the issuer {:?} in {}",
                    policy.issuer,
                    path.display()
                )));
            }
            text
        }
        (None, Some(issuer)) => {
            if issuer.trim().is_empty() || issuer.chars().any(char::is_whitespace) {
                return Err(Error::Usage(
                    "--issuer must be a non-empty URL with no spaces".into(),
                ));
            }
            Policy::template(issuer)
        }
        (None, None) => unreachable!("clap requires --issuer without --policy"),
    };

    let source = PassphraseSource::from_option(args.passphrase_file);
    source.check_available()?;
    let root_passphrase = source.new_secret("the root key")?;
    let root = Store::create(NewStore {
        dir: &ctx.store,
        policy_text,
        root_passphrase,
        actor: &ctx.actor,
        now: ctx.now,
    })?;

    let fingerprint = hex::encode(root.key.thumbprint());
    if args.json {
        print_json(&json!({
            "store": ctx.store,
            "root": { "kid": root.kid, "fingerprint": fingerprint },
        }))?;
    } else {
        errln!("covenant: created store {}", ctx.store.display());
        errln!("covenant: root key fingerprint (auditors pin this):");
        errln!("  {}", grouped(&fingerprint));
        outln!("{fingerprint}");
    }
    Ok(())
}

/// A hex fingerprint in groups of four, for reading aloud.
pub fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("hex is ASCII"))
        .collect::<Vec<_>>()
        .join(" ")
}
