//! Manifests arrive from elsewhere for auditors to check: any file must
//! verify or fail with a reason, never panic or exhaust memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The root of the seed manifest in fuzz/corpus/manifest, so that mutations
/// of it reach the record checks instead of stopping at the root.
const FINGERPRINT: &str = "8d117990f30cfb7114068ef895787acf402ee886de1522ab93d164bc617cd519";

fuzz_target!(|bytes: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.jsonl");
    std::fs::write(&path, bytes).unwrap();
    let _ = covenant::manifest::verify(&path, FINGERPRINT);
});
