//! `covenant log`: read the ledger as a person would.

use jiff::Timestamp;

use crate::cmd::{Context, show_time};
use crate::error::{Error, Result};
use crate::ledger::{self, Event, Record};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only records about this partner (a token's `sub`).
    #[arg(long)]
    partner: Option<String>,

    /// Only records about this key id.
    #[arg(long)]
    kid: Option<String>,

    /// Only records of this kind, such as token.minted or key (a prefix).
    #[arg(long)]
    kind: Option<String>,

    /// Only records at or after this time (RFC 3339).
    #[arg(long)]
    since: Option<Timestamp>,

    /// Only records before this time (RFC 3339).
    #[arg(long)]
    until: Option<Timestamp>,

    /// Print matching records as JSON lines, exactly as stored.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let path = ledger::path_in(&ctx.store);
    if !path.exists() {
        return Err(Error::StoreInvalid {
            path: ctx.store.clone(),
            reason: "no ledger here; is --store (or COVENANT_STORE) right?".into(),
        });
    }
    ledger::replay(&path, |record| {
        if matches(&args, record) {
            if args.json {
                out!("{}", String::from_utf8_lossy(&record.to_line()));
            } else {
                outln!(
                    "{:>6}  {}  {:<12}  {:<16}  {}",
                    record.seq,
                    show_time(record.time),
                    visible(&record.actor),
                    kind(&record.event),
                    visible(&summary(&record.event))
                );
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Text from the ledger as it may be shown on a terminal: control
/// characters escaped, so that a ledger written by anything else cannot
/// move the cursor, clear the screen or forge a line.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() || crate::contract::is_invisible(c) => {
                c.escape_unicode().to_string()
            }
            c => c.to_string(),
        })
        .collect()
}

fn matches(args: &Args, record: &Record) -> bool {
    let event = &record.event;
    args.kind
        .as_ref()
        .is_none_or(|k| kind(event).starts_with(k.as_str()))
        && args.since.is_none_or(|t| record.time >= t)
        && args.until.is_none_or(|t| record.time < t)
        && args
            .kid
            .as_ref()
            .is_none_or(|k| kid(event) == Some(k.as_str()))
        && args.partner.as_ref().is_none_or(|p| match event {
            Event::TokenMinted { sub, .. } => sub == p,
            _ => false,
        })
}

/// The record's kind, as stored in the ledger.
fn kind(event: &Event) -> &'static str {
    match event {
        Event::StoreCreated { .. } => "store.created",
        Event::KeyGenerated { .. } => "key.generated",
        Event::KeyActivated { .. } => "key.activated",
        Event::TokenMinted { .. } => "token.minted",
        Event::PolicyChanged { .. } => "policy.changed",
        Event::ManifestExported { .. } => "manifest.exported",
        Event::KeyRetired { .. } => "key.retired",
        Event::KeyRevoked { .. } => "key.revoked",
        Event::KeyDestroyed { .. } => "key.destroyed",
        Event::KeyRewrapped { .. } => "key.rewrapped",
        Event::TokenRevoked { .. } => "token.revoked",
        Event::RevocationsExported { .. } => "revocations.exported",
        Event::CeremonyCompleted { .. } => "ceremony.completed",
        Event::CeremonyAbandoned { .. } => "ceremony.abandoned",
    }
}

fn kid(event: &Event) -> Option<&str> {
    match event {
        Event::KeyGenerated { kid, .. }
        | Event::KeyActivated { kid, .. }
        | Event::TokenMinted { kid, .. }
        | Event::KeyRetired { kid, .. }
        | Event::KeyRevoked { kid, .. }
        | Event::KeyDestroyed { kid, .. }
        | Event::KeyRewrapped { kid, .. } => Some(kid),
        _ => None,
    }
}

fn summary(event: &Event) -> String {
    let at = |s: i64| Timestamp::from_second(s).map_or(s.to_string(), show_time);
    match event {
        Event::StoreCreated { issuer, .. } => format!("issuer {issuer}"),
        Event::KeyGenerated {
            kid, alg, custody, ..
        } => format!("{alg} key {kid} ({custody})"),
        Event::KeyActivated {
            kid, signs_until, ..
        } => format!("{kid} signs until {}", at(*signs_until)),
        Event::TokenMinted {
            jti,
            sub,
            scope,
            nbf,
            exp,
            kid,
            ..
        } => {
            format!(
                "{jti} for {sub} [{scope}] {} to {} by {kid}",
                at(*nbf),
                at(*exp)
            )
        }
        Event::PolicyChanged { policy_sha256, .. } => format!("policy now {policy_sha256}"),
        Event::ManifestExported {
            records, sha256, ..
        } => format!("{records} records, sha256 {sha256}"),
        Event::KeyRetired { kid, reason } => format!("{kid} retired: {reason}"),
        Event::KeyRevoked { kid, reason } => format!("{kid} revoked: {reason}"),
        Event::KeyDestroyed {
            kid,
            reason,
            forced,
        } => {
            let forced = if *forced { " (forced)" } else { "" };
            format!("{kid} destroyed{forced}: {reason}")
        }
        Event::KeyRewrapped {
            kid,
            custody,
            recipients,
            ..
        } => format!(
            "{kid} rewrapped to {custody} ({} recipients)",
            recipients.len()
        ),
        Event::TokenRevoked { jti, reason } => format!("{jti} revoked: {reason}"),
        Event::RevocationsExported {
            keys,
            tokens,
            sha256,
            ..
        } => {
            format!("{tokens} tokens and {keys} keys, sha256 {sha256}")
        }
        Event::CeremonyCompleted {
            name,
            transcript_sha256,
            ..
        } => format!("{name} completed, transcript sha256 {transcript_sha256}"),
        Event::CeremonyAbandoned {
            name, step, reason, ..
        } => {
            format!("{name} abandoned at {step}: {reason}")
        }
    }
}
