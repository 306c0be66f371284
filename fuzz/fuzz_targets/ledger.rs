//! Ledger lines and the strict JSON parser: hostile bytes must give a
//! record or a reason, never a panic.
#![no_main]

use covenant::ledger::{self, Head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let head = Head { next_seq: 0, hash: ledger::GENESIS_PREV.into(), len: 0 };
    let _ = ledger::parse_line(bytes, &head);
    let _ = covenant::strict_json::parse(bytes);
});
