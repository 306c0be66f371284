//! `covenant ledger verify`: check the local store's ledger, chain and
//! rules, as an auditor would check an exported manifest.

use serde_json::json;

use crate::audit::Auditor;
use crate::cmd::{Context, print_json};
use crate::error::{Error, Result};
use crate::ledger;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check the hash chain and the audit rules of the store's ledger.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: Command) -> Result<()> {
    let Command::Verify(args) = command;
    let path = ledger::path_in(&ctx.store);
    if !path.exists() {
        return Err(Error::StoreInvalid {
            path: ctx.store.clone(),
            reason: "no ledger here; is --store (or COVENANT_STORE) right?".into(),
        });
    }
    let mut auditor = Auditor::default();
    let head = ledger::replay(&path, |record| {
        auditor.observe(record);
        Ok(())
    })?;
    if auditor.needs_second_pass() {
        ledger::replay(&path, |record| {
            auditor.recheck(record);
            Ok(())
        })?;
    }
    if let Some((after, bytes)) = ledger::unfinished(&path)? {
        errln!(
            "covenant: warning: an append that has not finished follows record {after} \
             ({bytes} bytes so far); its records are not counted here. If no covenant command \
             is running, it was cut short, and the next command that writes will take it out \
             of the ledger"
        );
    }
    let (records, tokens) = (auditor.records, auditor.tokens);
    let (_, problems, count) = auditor.finish();

    if args.json {
        print_json(&json!({
            "valid": count == 0,
            "records": records,
            "head": head.hash,
            "tokens": tokens,
            "problem_count": count,
            "problems": problems.iter().map(|p| json!({"record": p.record, "message": p.message})).collect::<Vec<_>>(),
        }))?;
    } else {
        for p in &problems {
            errln!(
                "covenant: record {}: {}",
                p.record.map_or("-".into(), |r| r.to_string()),
                p.message
            );
        }
    }
    if count > 0 {
        return Err(Error::Rejected(format!(
            "{}: {count} problem(s) in {records} records",
            path.display()
        )));
    }
    if !args.json {
        errln!(
            "covenant: ledger valid: {records} records, {tokens} tokens, head {}",
            head.hash
        );
        errln!(
            "covenant: a chain cannot show records cut from its end; compare this head \
             with the last exported manifest's"
        );
    }
    Ok(())
}
