//! Contract files are written by people and arrive by e-mail: any bytes
//! must give a contract or a located refusal, never a panic.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use covenant::contract::Contract;
use covenant::policy::Policy;
use libfuzzer_sys::fuzz_target;

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let text = include_str!("../../docs/examples/policy.toml");
        Policy::parse(Path::new("policy.toml"), text).expect("the example policy parses")
    })
}

fuzz_target!(|bytes: &[u8]| {
    let now = jiff::Timestamp::from_second(1_796_000_000).unwrap();
    if let Err(d) = Contract::check(Path::new("fuzz.toml"), bytes, policy(), now) {
        let _ = d.to_string();
    }
});
