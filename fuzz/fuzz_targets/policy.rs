//! The policy file is edited by hand: any text must parse or be refused
//! with a located message, never panic.
#![no_main]

use std::path::Path;

use covenant::policy::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes)
        && let Err(d) = Policy::parse(Path::new("covenant.toml"), text)
    {
        let _ = d.to_string();
    }
});
