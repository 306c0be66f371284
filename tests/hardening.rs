//! covenant under hostile conditions: killed at arbitrary moments, run
//! twice at once on one store, and searched for leaked secrets.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{PASSPHRASE, Run, Workspace, example};
use covenant::ledger::{self, Event};

/// A folder of `n` distinct contracts, each a copy of the ACME example.
fn contracts(ws: &Workspace, folder: &str, n: usize) -> std::path::PathBuf {
    let dir = ws.path(folder);
    std::fs::create_dir_all(&dir).unwrap();
    let template = std::fs::read_to_string(example("acme-logistics.toml")).unwrap();
    for i in 0..n {
        let text = template.replace("ACME-2026-001", &format!("ACME-{folder}-{i:04}"));
        std::fs::write(dir.join(format!("c{i:04}.toml")), text).unwrap();
    }
    dir
}

/// The SHA-256 of every token the ledger records.
fn recorded_tokens(store: &Path) -> BTreeSet<String> {
    let mut digests = BTreeSet::new();
    ledger::replay(&ledger::path_in(store), |record| {
        if let Event::TokenMinted { token_sha256, .. } = &record.event {
            digests.insert(token_sha256.clone());
        }
        Ok(())
    })
    .expect("the ledger's chain is intact");
    digests
}

/// A pseudo-random sequence of delays, seeded from the clock and printed,
/// so that a failure can be replayed by fixing the seed.
fn delays(count: usize, max_ms: u64) -> Vec<Duration> {
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill delays seeded with {seed}");
    (0..count)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            Duration::from_millis(seed % max_ms)
        })
        .collect()
}

fn assert_store_consistent(ws: &Workspace) {
    ws.covenant(&["ledger", "verify"]).run().ok();
    // Every key file opens with its passphrase: none is half-written.
    let (state, _) = covenant::state::load(&ledger::path_in(&ws.store())).unwrap();
    for key in &state.keys {
        let path = ws.store().join("keys").join(format!("{}.age", key.kid()));
        if key.destroyed.is_some() {
            continue;
        }
        let sealed = std::fs::read(&path).unwrap();
        covenant::key::unseal_with_passphrase(&sealed, PASSPHRASE.into())
            .unwrap_or_else(|_| panic!("{} does not open", path.display()));
    }
}

#[test]
fn a_batch_mint_killed_at_any_moment_leaves_every_written_token_on_record() {
    let (ws, _) = Workspace::with_key("EdDSA");
    let folder = contracts(&ws, "batch", 400);
    for (round, delay) in delays(8, 400).into_iter().enumerate() {
        let out = ws.path(&format!("out-{round}"));
        let mut child = ws
            .covenant(&["mint", "--out-dir"])
            .arg(&out)
            .arg(&folder)
            .passphrase()
            .spawn();
        sleep(delay);
        let _ = child.kill();
        let _ = child.wait();

        assert_store_consistent(&ws);
        let recorded = recorded_tokens(&ws.store());
        for entry in std::fs::read_dir(&out).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "jwt") {
                let token = std::fs::read_to_string(&path).unwrap();
                let digest = covenant::store::sha256_hex(token.trim().as_bytes());
                assert!(
                    recorded.contains(&digest),
                    "{} is not on record",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn rotation_killed_at_any_moment_leaves_a_consistent_store() {
    let (ws, _) = Workspace::with_key("ES256");
    for delay in delays(8, 60) {
        let mut child = ws.covenant(&["key", "rotate"]).passphrase().spawn();
        sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        assert_store_consistent(&ws);
        ws.covenant(&["key", "list"]).run().ok();
    }
}

#[test]
fn two_processes_on_one_store_are_serialised_by_the_lock() {
    let (ws, _) = Workspace::with_key("ES256");
    let a = contracts(&ws, "a", 150);
    let b = contracts(&ws, "b", 150);
    let first = ws
        .covenant(&["mint", "--out-dir"])
        .arg(ws.path("out-a"))
        .arg(&a)
        .passphrase()
        .spawn();
    let second = ws
        .covenant(&["mint", "--out-dir"])
        .arg(ws.path("out-b"))
        .arg(&b)
        .passphrase()
        .spawn();
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    assert_store_consistent(&ws);
    assert_eq!(recorded_tokens(&ws.store()).len(), 300);
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&first.stderr),
        String::from_utf8_lossy(&second.stderr)
    );
    // Which one waits depends on scheduling; that one must have said so
    // unless the first had already finished.
    if stderr.contains("waiting") {
        assert!(
            stderr.contains("another covenant process is using"),
            "{stderr}"
        );
    }
}

#[test]
fn no_file_output_or_error_ever_contains_a_passphrase_or_private_key() {
    let (ws, kid) = Workspace::with_key("EdDSA");
    let mut seen = Vec::new();
    let mut record = |run: common::Run| {
        seen.push(run.stdout);
        seen.push(run.stderr);
    };
    record(
        ws.covenant(&["mint"])
            .arg(example("acme-logistics.toml"))
            .passphrase()
            .run(),
    );
    record(ws.covenant(&["key", "list", "--json"]).run());
    record(ws.covenant(&["status", "--json"]).run());
    record(ws.covenant(&["log", "--json"]).run());
    record(ws.covenant(&["jwks"]).run());
    record(ws.covenant(&["manifest", "export"]).passphrase().run());
    let wrong = ws.write("wrong", "not the passphrase\n");
    record(
        ws.covenant(&["mint"])
            .arg(example("acme-logistics.toml"))
            .arg("--passphrase-file")
            .arg(&wrong)
            .run(),
    );
    record(
        ws.covenant(&["key", "generate", "--alg", "HS256"])
            .passphrase()
            .run(),
    );

    // The private key: PKCS#8 v1 for Ed25519 ends with the 32-byte seed.
    let sealed = std::fs::read(ws.store().join("keys").join(format!("{kid}.age"))).unwrap();
    let pkcs8 = covenant::key::unseal_with_passphrase(&sealed, PASSPHRASE.into()).unwrap();
    let seed = &pkcs8.der()[pkcs8.der().len() - 32..];
    use base64::Engine;
    let forms: Vec<Vec<u8>> = vec![
        PASSPHRASE.as_bytes().to_vec(),
        seed.to_vec(),
        hex::encode(seed).into_bytes(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(seed)
            .into_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(pkcs8.der())
            .into_bytes(),
    ];
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for (path, (_, bytes)) in common::snapshot(&ws.store()) {
        for form in &forms {
            assert!(
                !contains(&bytes, form),
                "{} holds secret material",
                path.display()
            );
        }
    }
    for text in &seen {
        for form in &forms {
            assert!(
                !contains(text.as_bytes(), form),
                "output holds secret material: {text}"
            );
        }
    }
}

/// What the ledger file and its pending-append marker hold.
fn ledger_bytes(ws: &Workspace) -> Vec<u8> {
    std::fs::read(ledger::path_in(&ws.store())).unwrap()
}

fn pending_marker(ws: &Workspace) -> std::path::PathBuf {
    ws.store().join(ledger::PENDING_FILE)
}

fn token_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

#[test]
fn a_batch_killed_while_its_records_are_copied_in_is_undone_by_the_next_writer() {
    use std::os::unix::process::ExitStatusExt;
    let (ws, _) = Workspace::with_key("EdDSA");
    let folder = contracts(&ws, "cut", 100);
    let before = ledger_bytes(&ws);
    let out = ws.path("out-killed");

    // The copy stops 1,000 bytes in, in the middle of a record, and the
    // process dies there as a kill would leave it.
    let killed = ws
        .covenant(&["mint", "--out-dir"])
        .arg(&out)
        .arg(&folder)
        .passphrase()
        .env("COVENANT_TEST_LEDGER_CUT", "abort:1000")
        .spawn()
        .wait_with_output()
        .unwrap();
    assert_eq!(killed.status.signal(), Some(6), "{killed:?}");
    let cut = ledger_bytes(&ws);
    assert_eq!(cut.len(), before.len() + 1000);
    assert!(pending_marker(&ws).exists());
    assert_eq!(
        token_files(&out),
        0,
        "no token left before the ledger was whole"
    );

    // Readers see the ledger as it was, without waiting for a writer.
    let verified = ws.covenant(&["ledger", "verify"]).run();
    verified.ok();
    assert!(
        verified
            .stderr
            .contains("ledger valid: 3 records, 0 tokens"),
        "{}",
        verified.stderr
    );
    assert!(
        verified
            .stderr
            .contains("an append that has not finished follows record 2 (1000 bytes so far)"),
        "{}",
        verified.stderr
    );
    assert!(recorded_tokens(&ws.store()).is_empty());
    assert_eq!(ledger_bytes(&ws), cut, "reading changes nothing");
    let marker = std::fs::read(pending_marker(&ws)).unwrap();

    // The next writer takes the unfinished records out of the ledger,
    // keeps them beside it, says where, and goes on.
    let again = ws
        .covenant(&["mint", "--out-dir"])
        .arg(ws.path("out-again"))
        .arg(&folder)
        .passphrase()
        .run();
    again.ok();
    assert!(
        again.stderr.contains(
            "its unfinished records (1000 bytes) were taken out of the ledger and kept in"
        ),
        "{}",
        again.stderr
    );
    let kept: Vec<_> = std::fs::read_dir(ws.store())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("ledger.undone-3-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(&kept[0]).unwrap(), cut[before.len()..]);
    assert!(!pending_marker(&ws).exists());
    assert!(ledger_bytes(&ws).starts_with(&before));
    assert_eq!(recorded_tokens(&ws.store()).len(), 100);
    ws.covenant(&["ledger", "verify"]).run().ok();

    // The same marker put back later (from a backup, say) no longer
    // describes the ledger's last append: every command refuses it, and
    // no record is cut.
    std::fs::write(pending_marker(&ws), &marker).unwrap();
    let whole = ledger_bytes(&ws);
    let stale = "does not describe an unfinished append of this ledger";
    assert!(
        ws.covenant(&["ledger", "verify"])
            .run()
            .fails(1)
            .contains(stale)
    );
    let revoke = ws
        .covenant(&["revoke", "nothing", "--reason", "test"])
        .run();
    assert!(revoke.fails(1).contains(stale));
    assert!(mint_acme(&ws).fails(1).contains(stale));
    assert_eq!(ledger_bytes(&ws), whole, "a stale marker cuts nothing");
    // The re-run's append has the killed one's length to the byte (the
    // same 100 contracts), so only the marker's digest tells them apart.
    assert!(
        revoke
            .stderr
            .contains("the records after it are not the append it describes")
    );
    std::fs::remove_file(pending_marker(&ws)).unwrap();
    assert_eq!(recorded_tokens(&ws.store()).len(), 100);
}

fn mint_acme(ws: &Workspace) -> Run {
    ws.covenant(&["mint"])
        .arg(example("acme-logistics.toml"))
        .passphrase()
        .run()
}

/// A marker that is not covenant's at all is refused the same way.
#[test]
fn a_hand_written_pending_marker_cuts_nothing() {
    let (ws, _) = Workspace::with_key("ES256");
    for _ in 0..3 {
        ws.mint_acme();
    }
    let whole = ledger_bytes(&ws);
    let first_three: usize = whole
        .split_inclusive(|&b| b == b'\n')
        .take(3)
        .map(<[u8]>::len)
        .sum();
    std::fs::write(
        pending_marker(&ws),
        format!("{{\"ledger_len\":{first_three}}}"),
    )
    .unwrap();
    let listed = ws.covenant(&["key", "list"]).run();
    assert!(
        listed.fails(1).contains("it is not covenant's marker"),
        "{listed:?}"
    );
    let refused = mint_acme(&ws);
    assert!(
        refused.fails(1).contains("it is not covenant's marker"),
        "{refused:?}"
    );
    assert_eq!(ledger_bytes(&ws), whole);
}

#[test]
fn a_copy_into_the_ledger_that_fails_is_undone_at_once() {
    let (ws, _) = Workspace::with_key("ES256");
    let folder = contracts(&ws, "full", 70);
    let before = ledger_bytes(&ws);
    let out = ws.path("out-full");

    // The copy fails 1,500 bytes in, as on a full disk.
    let failed = ws
        .covenant(&["mint", "--out-dir"])
        .arg(&out)
        .arg(&folder)
        .passphrase()
        .env("COVENANT_TEST_LEDGER_CUT", "error:1500")
        .run();
    let cause = failed.fails(2);
    assert!(
        cause.contains("ledger.jsonl: cannot append to the ledger: the test cut the copy short"),
        "{cause}"
    );
    assert_eq!(ledger_bytes(&ws), before, "the ledger is as it was");
    assert!(!pending_marker(&ws).exists());
    assert_eq!(token_files(&out), 0);
    ws.covenant(&["ledger", "verify"]).run().ok();
    ws.mint_acme();
}
