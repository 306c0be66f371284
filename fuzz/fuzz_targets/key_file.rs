//! Sealed key files may be damaged or planted: opening one must fail
//! cleanly. The scrypt work factor is capped low so that a header asking
//! for hours of work is refused rather than slowing the fuzzer.
#![no_main]

use age::secrecy::SecretString;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let mut identity = age::scrypt::Identity::new(SecretString::from("fuzz"));
    identity.set_max_work_factor(10);
    let _ = covenant::key::unseal(bytes, &identity);
});
