//! The checks a script may name: what the tool verifies by itself, before
//! a ceremony starts (its preconditions) or as part of a step.

use std::fs;
use std::path::Path;

use jiff::Timestamp;

use crate::audit::Auditor;
use crate::ledger;
use crate::store::{Access, Store};

/// The checks there are.
pub const CHECKS: [&str; 4] = [
    "store-absent",
    "store-present",
    "active-key",
    "ledger-intact",
];

/// Runs one of the checks a script may name against `store`.
pub fn run(check: &str, store: &Path, now: Timestamp) -> std::result::Result<(), String> {
    let exists = store.join(ledger::FILE_NAME).exists();
    match check {
        "store-absent" if exists => Err(format!("a store exists at {}", store.display())),
        "store-absent" => match fs::read_dir(store).map(|mut e| e.next().is_some()) {
            Ok(true) => Err(format!("{} exists and is not empty", store.display())),
            _ => Ok(()),
        },
        "store-present" => Store::open(store, Access::Read)
            .map(drop)
            .map_err(|e| e.to_string()),
        "active-key" => {
            let s = Store::open(store, Access::Read).map_err(|e| e.to_string())?;
            match s.state.active_key(now) {
                Some(_) => Ok(()),
                None => Err("no key signs now".into()),
            }
        }
        "ledger-intact" => ledger_intact(store),
        other => Err(format!("unknown check {other}")),
    }
}

/// The same checks as `covenant ledger verify`: the chain and the rules.
fn ledger_intact(store: &Path) -> std::result::Result<(), String> {
    let path = ledger::path_in(store);
    let mut auditor = Auditor::default();
    let replay = |auditor: &mut Auditor, second: bool| {
        ledger::replay(&path, |record| {
            if second {
                auditor.recheck(record)
            } else {
                auditor.observe(record)
            }
            Ok(())
        })
        .map_err(|e| e.to_string())
    };
    replay(&mut auditor, false)?;
    if auditor.needs_second_pass() {
        replay(&mut auditor, true)?;
    }
    let (_, problems, count) = auditor.finish();
    match problems.first() {
        None if count == 0 => Ok(()),
        first => Err(format!(
            "{count} problem(s) in the ledger{}",
            first.map_or(String::new(), |p| format!(", the first: {}", p.message))
        )),
    }
}
