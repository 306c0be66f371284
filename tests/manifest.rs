//! Manifests and ledgers under attack: a real store is built with the
//! binary, its manifest exported, and then every kind of damage an
//! attacker or an accident can do is applied systematically. Each damaged
//! manifest must fail verification, and the message must say what and
//! where.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use covenant::error::Error;
use covenant::ledger::{self, Entry, Event};

const PASSPHRASE: &str = "manifest test passphrase";

struct Fixture {
    dir: tempfile::TempDir,
    fingerprint: String,
}

impl Fixture {
    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn pass(&self) -> PathBuf {
        self.dir.path().join("pass")
    }

    fn covenant(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_covenant"))
            .args(args)
            .env("COVENANT_STORE", self.store())
            .env("COVENANT_TEST_SCRYPT_LOG_N", "4")
            .env("COVENANT_TEST_NOW", "2026-12-03T10:00:00Z")
            .env("COVENANT_ACTOR", "test officer")
            .output()
            .expect("the covenant binary runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.covenant(args);
        assert!(
            out.status.success(),
            "covenant {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn export(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let pass = self.pass();
        self.ok(&[
            "manifest",
            "export",
            "--out",
            path.to_str().unwrap(),
            "--passphrase-file",
            pass.to_str().unwrap(),
        ]);
        path
    }
}

/// A store with two keys' worth of history and tokens for two partners.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pass"), PASSPHRASE).unwrap();
    let mut f = Fixture {
        dir,
        fingerprint: String::new(),
    };
    let pass = f.pass();
    let pass = pass.to_str().unwrap();
    let policy = example("policy.toml");
    f.fingerprint = f
        .ok(&["init", "--policy", &policy, "--passphrase-file", pass])
        .trim()
        .to_string();
    f.ok(&[
        "key",
        "generate",
        "--alg",
        "EdDSA",
        "--passphrase-file",
        pass,
    ]);
    for contract in [
        "acme-logistics.toml",
        "acme-logistics.toml",
        "globex-term.toml",
    ] {
        f.ok(&["mint", &example(contract), "--passphrase-file", pass]);
    }
    f
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Verifies `bytes` as a manifest in-process; Ok means it was accepted.
fn verify_bytes(dir: &Path, bytes: &[u8], fingerprint: &str) -> Result<(), String> {
    let path = dir.join("candidate.jsonl");
    std::fs::write(&path, bytes).unwrap();
    match covenant::manifest::verify(&path, fingerprint) {
        Ok(report) if report.ok() => Ok(()),
        Ok(report) => Err(format!("{:?} {:?}", report.signed, report.problems)),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn an_exported_manifest_verifies_with_the_pinned_root() {
    let f = fixture();
    let manifest = f.export("m.jsonl");
    let out = f.ok(&[
        "manifest",
        "verify",
        manifest.to_str().unwrap(),
        "--trust",
        &f.fingerprint,
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["tokens"], 3);
    assert_eq!(report["records"], 6);
    assert_eq!(report["tokens_by_partner"][0]["partner"], "acme-logistics");
    assert_eq!(report["tokens_by_partner"][0]["tokens"], 2);
    assert_eq!(report["tokens_by_partner"][1]["partner"], "globex");
}

/// docs/manifest.md must be enough to write a verifier: a Python one,
/// written from the documents alone, accepts covenant's manifest and
/// refuses a tampered copy.
#[test]
fn an_independent_python_verifier_agrees() {
    let f = fixture();
    let manifest = f.export("m.jsonl");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/verify_manifest.py");
    let run = |path: &Path| {
        Command::new("python3")
            .arg(&script)
            .arg(path)
            .arg(&f.fingerprint)
            .output()
            .expect("python3 runs; `sh tests/run.sh` installs what the tests need")
    };
    let out = run(&manifest);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "valid 6 records",
        "{out:?}"
    );
    assert!(out.status.success());

    let text = std::fs::read_to_string(&manifest).unwrap();
    let tampered = f.dir.path().join("tampered.jsonl");
    std::fs::write(
        &tampered,
        text.replacen("acme-logistics", "acme-logistix", 1),
    )
    .unwrap();
    let out = run(&tampered);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("content does not match its hash"));
}

#[test]
fn every_single_byte_change_is_detected() {
    let f = fixture();
    let original = std::fs::read(f.export("m.jsonl")).unwrap();
    verify_bytes(f.dir.path(), &original, &f.fingerprint).expect("the original verifies");
    for i in 0..original.len() {
        for flip in [0x01u8, 0x20] {
            let mut bytes = original.clone();
            bytes[i] ^= flip;
            if bytes[i] == original[i] {
                continue;
            }
            assert!(
                verify_bytes(f.dir.path(), &bytes, &f.fingerprint).is_err(),
                "changing byte {i} ({:?}) with {flip:#x} went unnoticed",
                original[i] as char
            );
        }
    }
}

#[test]
fn removed_inserted_duplicated_reordered_and_truncated_lines_are_named() {
    let f = fixture();
    let original = std::fs::read_to_string(f.export("m.jsonl")).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
    let dir = f.dir.path();

    for i in 1..lines.len() {
        let mut without = lines.clone();
        without.remove(i);
        let err = verify_bytes(dir, join(&without).as_bytes(), &f.fingerprint).unwrap_err();
        assert!(!err.is_empty(), "removing line {i} went unnoticed");

        let mut doubled = lines.clone();
        doubled.insert(i, lines[i]);
        assert!(
            verify_bytes(dir, join(&doubled).as_bytes(), &f.fingerprint).is_err(),
            "duplicating line {i}"
        );
    }
    for i in 1..lines.len() - 2 {
        let mut swapped = lines.clone();
        swapped.swap(i, i + 1);
        let err = verify_bytes(dir, join(&swapped).as_bytes(), &f.fingerprint).unwrap_err();
        assert!(
            err.contains(&format!("record {}", i - 1)),
            "swapping lines {i} and {}: {err}",
            i + 1
        );
    }
    for cut in (0..original.len()).step_by(7) {
        assert!(
            verify_bytes(dir, &original.as_bytes()[..cut], &f.fingerprint).is_err(),
            "truncation at {cut}"
        );
    }
    let err = verify_bytes(
        dir,
        join(&lines[..lines.len() - 1]).as_bytes(),
        &f.fingerprint,
    )
    .unwrap_err();
    assert!(err.contains("without its signature"), "{err}");
}

#[test]
fn a_manifest_from_another_root_is_refused_by_name() {
    let a = fixture();
    let b = fixture();
    let manifest = b.export("other.jsonl");
    let out = a.covenant(&[
        "manifest",
        "verify",
        manifest.to_str().unwrap(),
        "--trust",
        &a.fingerprint,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("signed by root {}", b.fingerprint)),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("not the pinned root {}", a.fingerprint)),
        "{stderr}"
    );
}

#[test]
fn a_correctly_chained_record_that_breaks_the_rules_is_reported_with_its_number() {
    let f = fixture();
    let ledger_path = ledger::path_in(&f.store());
    let (state, head) = covenant::state::load(&ledger_path).unwrap();
    let kid = state.keys[0].kid().to_string();
    // A token minted far beyond the policy's five-year maximum, with a jti
    // that repeats an earlier one: chained correctly, but not allowed.
    let earlier_jti = {
        let mut jti = None;
        ledger::replay(&ledger_path, |r| {
            if let Event::TokenMinted { jti: j, .. } = &r.event {
                jti.get_or_insert(j.clone());
            }
            Ok(())
        })
        .unwrap();
        jti.unwrap()
    };
    let time = "2026-12-03T10:00:00Z".parse().unwrap();
    let forged = Event::TokenMinted {
        jti: earlier_jti.clone(),
        kid,
        sub: "mallory".into(),
        aud: "https://api.example.com/partners".into(),
        scope: "shipments:read payroll:admin".into(),
        iat: 1_796_292_000,
        nbf: 1_796_292_000,
        exp: 2_111_111_111,
        contract_id: "FORGED".into(),
        contract_sha256: "00".repeat(32),
        token_sha256: "11".repeat(32),
    };
    ledger::append(
        &ledger_path,
        &head,
        time,
        vec![Entry {
            actor: "mallory".into(),
            event: forged,
        }],
    )
    .unwrap();
    let forged_seq = head.next_seq;

    let out = f.covenant(&["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "record {forged_seq}: token {earlier_jti} lives from"
        )),
        "{stderr}"
    );

    let manifest = f.export("m.jsonl");
    let report = covenant::manifest::verify(&manifest, &f.fingerprint).unwrap();
    assert!(report.signed, "the root signed what the ledger holds");
    assert!(!report.ok());
    let messages: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.record.unwrap_or(u64::MAX), p.message))
        .collect();
    let expect = [
        format!("{forged_seq}: token {earlier_jti} lives from"),
        format!("{forged_seq}: token {earlier_jti}: scope \"payroll:admin\" is not in the policy"),
        format!("jti {earlier_jti} is used by records"),
    ];
    for e in expect {
        assert!(
            messages.iter().any(|m| m.contains(&e)),
            "missing {e:?} in {messages:#?}"
        );
    }
}

#[test]
fn a_torn_ledger_write_stops_every_command_with_the_record_number() {
    let f = fixture();
    let ledger_path = ledger::path_in(&f.store());
    let mut bytes = std::fs::read(&ledger_path).unwrap();
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&ledger_path, &bytes).unwrap();
    let out = f.covenant(&["key", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("record 5: the file ends in the middle of this record"),
        "{stderr}"
    );
    assert!(matches!(
        covenant::state::load(&ledger_path),
        Err(Error::Ledger { record: 5, .. })
    ));
}

/// Each token's jti, key and expiry, read straight from the ledger.
fn minted_tokens(f: &Fixture) -> Vec<(String, String, i64)> {
    let mut tokens = Vec::new();
    ledger::replay(&ledger::path_in(&f.store()), |r| {
        if let Event::TokenMinted { jti, kid, exp, .. } = &r.event {
            tokens.push((jti.clone(), kid.clone(), *exp));
        }
        Ok(())
    })
    .unwrap();
    tokens
}

/// What a verified manifest says of its first key's `published_until`.
fn verified_published_until(f: &Fixture, manifest: &Path) -> i64 {
    let report = covenant::manifest::verify(manifest, &f.fingerprint).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    report.keys[0]["published_until"].as_i64().unwrap()
}

/// The example policy's leeway, which `published_until` adds.
fn leeway(f: &Fixture) -> i64 {
    let store = covenant::store::Store::open(&f.store(), covenant::store::Access::Read).unwrap();
    store.policy.leeway_seconds
}

#[test]
fn a_revoked_last_token_moves_its_keys_published_until_back_and_the_manifest_says_so() {
    let f = fixture();
    let mut tokens = minted_tokens(&f);
    tokens.sort_by_key(|t| t.2);
    let (latest, _, latest_exp) = tokens.last().unwrap().clone();
    let before = f.export("before.jsonl");
    assert_eq!(
        verified_published_until(&f, &before),
        latest_exp + leeway(&f)
    );

    f.ok(&["revoke", &latest, "--reason", "partner left"]);
    let next_exp = tokens[tokens.len() - 2].2;
    assert!(
        next_exp < latest_exp,
        "the fixture's tokens end on different days"
    );
    let after = f.export("after.jsonl");
    assert_eq!(verified_published_until(&f, &after), next_exp + leeway(&f));
}

/// More revocations than the auditor remembers per key send it through the
/// records a second time; the answer must be the same exact date.
#[test]
fn revoking_many_of_a_keys_latest_tokens_still_gives_the_exact_published_until() {
    let f = fixture();
    let contracts = f.dir.path().join("contracts");
    std::fs::create_dir(&contracts).unwrap();
    let acme = std::fs::read_to_string(example("acme-logistics.toml")).unwrap();
    for day in 1..=28 {
        let body = acme
            .replacen("ACME-2026-001", &format!("ACME-2026-{day:03}"), 1)
            .replacen("end = 2029-12-01", &format!("end = 2029-11-{day:02}"), 1);
        std::fs::write(contracts.join(format!("c{day:02}.toml")), body).unwrap();
    }
    let (out, pass) = (f.dir.path().join("tokens"), f.pass());
    f.ok(&[
        "mint",
        contracts.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
    ]);
    let mut tokens = minted_tokens(&f);
    tokens.sort_by_key(|t| std::cmp::Reverse(t.2));
    // Every token ending on or after 2029-11-05 goes, 26 of them.
    let cut = "2029-11-05T00:00:00Z".parse::<jiff::Timestamp>().unwrap();
    let (gone, kept): (Vec<_>, Vec<_>) = tokens.iter().partition(|t| t.2 >= cut.as_second());
    assert!(gone.len() > 16, "{} revoked", gone.len());
    for (jti, _, _) in &gone {
        f.ok(&["revoke", jti, "--reason", "programme ended"]);
    }
    let manifest = f.export("m.jsonl");
    let expected = kept.iter().map(|t| t.2).max().unwrap() + leeway(&f);
    assert_eq!(verified_published_until(&f, &manifest), expected);
}

/// A header whose key list the records do not bear out is refused, even
/// when the root signed it: here the root signs a manifest that says a key
/// may leave the JWKS a day before its last live token expires.
#[test]
fn a_signed_header_that_shortens_a_keys_published_until_is_refused() {
    let f = fixture();
    let pass = covenant::passphrase::PassphraseSource::File(f.pass());
    let mut store =
        covenant::store::Store::open(&f.store(), covenant::store::Access::Read).unwrap();
    let signer = covenant::root::unlock(&store, &pass).unwrap();
    let key = &mut store.state.keys[0];
    let last = key.last_live_exp.unwrap();
    key.last_live_exp = Some(last - jiff::SignedDuration::from_hours(24));
    let now = "2026-12-03T10:00:00Z".parse().unwrap();
    let mut bytes = Vec::new();
    covenant::manifest::export(&store, &signer, now, &mut bytes).unwrap();

    let dir = f.dir.path();
    let refused = verify_bytes(dir, &bytes, &f.fingerprint).unwrap_err();
    assert!(
        refused.contains("the header's key list does not match the ledger"),
        "{refused}"
    );
}
