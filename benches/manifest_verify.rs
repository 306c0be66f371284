//! How fast `covenant manifest verify` checks a large manifest, measured
//! against `sha256sum` reading the same bytes in the same run, and how much
//! memory it needs.
//!
//! The fixture is a real store with one ES256 key and COVENANT_BENCH_RECORDS
//! (default 1,000,000) token records, exported and signed by its root key.
//! It is built once under target/bench-data and reused. Each command runs as
//! a whole process, three times; the best time of each is compared. Peak
//! memory is the maximum resident set size that `/usr/bin/time` reports.
//! Run through benches/run.sh, which installs `time` if it is missing.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::entry;
use covenant::ledger::{Entry, Event};
use covenant::passphrase::PassphraseSource;
use covenant::store::{Access, Store};

const BATCH: usize = 50_000;

fn main() {
    let records: usize = std::env::var("COVENANT_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-data")
        .join(format!("manifest-{records}"));
    let manifest = dir.join("manifest.jsonl");
    let fingerprint_file = dir.join("fingerprint");
    if !manifest.exists() || !fingerprint_file.exists() {
        build_fixture(&dir, records);
    }
    let fingerprint = std::fs::read_to_string(&fingerprint_file).unwrap();
    let size = std::fs::metadata(&manifest).unwrap().len();

    let covenant = env!("CARGO_BIN_EXE_covenant");
    let m = manifest.to_str().unwrap();
    let verify = best_of(
        3,
        covenant,
        &["manifest", "verify", m, "--trust", fingerprint.trim()],
    );
    let sha = best_of(3, "sha256sum", &[m]);
    let rss = peak_rss_kib(
        covenant,
        &["manifest", "verify", m, "--trust", fingerprint.trim()],
    );

    println!(
        "manifest: {records} records, {:.1} MiB",
        size as f64 / 1048576.0
    );
    println!("covenant manifest verify: {:.3} s", verify.as_secs_f64());
    println!("sha256sum (same bytes):   {:.3} s", sha.as_secs_f64());
    println!(
        "ratio verify / sha256sum: {:.2}x (target: under 3x)",
        verify.as_secs_f64() / sha.as_secs_f64()
    );
    match rss {
        Some(kib) => println!(
            "peak memory of verify:    {:.1} MiB (limit: 64 MiB)",
            kib as f64 / 1024.0
        ),
        None => println!("peak memory of verify:    unknown (/usr/bin/time is missing)"),
    }
}

fn best_of(runs: usize, program: &str, args: &[&str]) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(program)
                .args(args)
                .stdout(Stdio::null())
                .status()
                .unwrap_or_else(|e| panic!("{program} runs: {e}"));
            assert!(status.success(), "{program} {args:?} failed");
            start.elapsed()
        })
        .min()
        .expect("at least one run")
}

fn peak_rss_kib(program: &str, args: &[&str]) -> Option<u64> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", program])
        .args(args)
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr.lines().last()?.trim().parse().ok()
}

fn build_fixture(dir: &Path, records: usize) {
    eprintln!(
        "building a {records}-record store in {} (once)",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let now: jiff::Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    let until: jiff::Timestamp = "2027-12-01T00:00:00Z".parse().unwrap();
    let common::Fixture {
        store_dir,
        passphrase_file,
        jwk,
        root_fingerprint,
    } = common::store_with_key(dir, now, until);
    let mut store = Store::open(&store_dir, Access::Write).unwrap();

    let partners = ["acme-logistics", "globex", "initech", "umbrella", "hooli"];
    let mut n = 0;
    while n < records {
        let batch: Vec<Entry> = (n..(n + BATCH).min(records))
            .map(|i| {
                entry(Event::TokenMinted {
                    jti: format!("bench-{i:012}"),
                    kid: jwk.kid.clone(),
                    sub: partners[i % partners.len()].to_string(),
                    aud: "https://api.example.com/partners".into(),
                    scope: "shipments:read invoices:read".into(),
                    iat: now.as_second(),
                    nbf: now.as_second(),
                    exp: now.as_second() + 3 * 365 * 86_400,
                    contract_id: format!("BENCH-{i}"),
                    contract_sha256: format!("{:064x}", i),
                    token_sha256: format!("{:064x}", i as u128 * 7919),
                })
            })
            .collect();
        n += batch.len();
        store.record(now, batch).unwrap();
    }

    let store = Store::open(&store_dir, Access::Read).unwrap();
    let signer = covenant::root::unlock(&store, &PassphraseSource::File(passphrase_file)).unwrap();
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(dir.join("manifest.jsonl")).unwrap());
    covenant::manifest::export(&store, &signer, now, &mut out).unwrap();
    drop(out);
    std::fs::write(dir.join("fingerprint"), root_fingerprint).unwrap();
}
