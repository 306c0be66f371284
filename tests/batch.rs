//! `covenant mint --out-dir`: many contracts in one run. A bad contract
//! stops the whole batch with nothing written unless --keep-going is
//! given, token files never collide or replace anything, and the ledger
//! records every token in the order the contracts were given.

mod common;

use std::path::{Path, PathBuf};

use common::{AUDIENCE, DURING_ACME, Workspace, example, mode};
use serde_json::Value;

/// Writes `n` copies of the ACME Logistics example into `folder`, named
/// c0000.toml, c0001.toml, ..., with contract ids ACME-0000, ACME-0001, ...
fn contracts(ws: &Workspace, folder: &str, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(example("acme-logistics.toml")).unwrap();
    let dir = ws.path(folder);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        let body = text.replacen("ACME-2026-001", &format!("ACME-{i:04}"), 1);
        std::fs::write(dir.join(format!("c{i:04}.toml")), body).unwrap();
    }
    dir
}

/// The ledger's token.minted records, in ledger order.
fn minted_records(ws: &Workspace) -> Vec<Value> {
    std::fs::read_to_string(ws.store().join("ledger.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|r| r["event"]["kind"] == "token.minted")
        .map(|r| r["event"]["payload"].clone())
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

fn token_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn one_bad_contract_stops_the_batch_and_leaves_store_and_output_untouched() {
    let (ws, _) = Workspace::with_key("ES256");
    let dir = contracts(&ws, "contracts", 5);
    let bad = dir.join("c0003.toml");
    let text = std::fs::read_to_string(&bad).unwrap();
    std::fs::write(&bad, text.replace("\"invoices:read\"", "\"invoice:read\"")).unwrap();
    let before = ws.snapshot();

    let run = ws
        .covenant(&["mint", "--out-dir", "tokens", "contracts"])
        .passphrase()
        .run();

    assert_eq!(
        run.fails(2),
        "covenant: contracts/c0003.toml:12:29: [token] scopes: scope \"invoice:read\" is not \
         in the policy (did you mean \"invoices:read\"?)"
    );
    assert_eq!(
        run.stderr.lines().last().unwrap(),
        "covenant: 1 of 5 contracts were refused (each is reported above); nothing was minted. \
         Fix them, or pass --keep-going to mint the others"
    );
    assert!(run.stdout.is_empty());
    assert!(
        ws.snapshot() == before,
        "a refused batch changed the workspace"
    );
    assert!(!ws.path("tokens").exists());
}

#[test]
fn keep_going_mints_the_good_contracts_and_reports_the_bad_ones() {
    let (ws, kid) = Workspace::with_key("EdDSA");
    let dir = contracts(&ws, "contracts", 4);
    let bad = dir.join("c0001.toml");
    let text = std::fs::read_to_string(&bad).unwrap();
    std::fs::write(&bad, text.replace("end = 2029-12-01", "end = 2032-12-01")).unwrap();

    let run = ws
        .covenant(&["mint", "--out-dir", "tokens", "--keep-going", "--json"])
        .arg(&dir)
        .passphrase()
        .run();

    run.fails(2);
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("covenant: 1 of 4 contracts were refused")
            && last.ends_with("the other 3 tokens were minted into tokens"),
        "{last}"
    );
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["kid"], kid.as_str());
    assert_eq!(doc["minted"].as_array().unwrap().len(), 3);
    let refused = doc["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        refused[0]["contract"],
        dir.join("c0001.toml").to_str().unwrap()
    );
    assert!(
        refused[0]["error"]
            .as_str()
            .unwrap()
            .contains("c0001.toml:8:7: [contract] end: the token would live from"),
        "{}",
        refused[0]["error"]
    );
    assert_eq!(
        token_files(&ws.path("tokens")),
        ["c0000.jwt", "c0002.jwt", "c0003.jwt"]
    );
    let ids: Vec<String> = minted_records(&ws)
        .iter()
        .map(|r| r["contract_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["ACME-0000", "ACME-0002", "ACME-0003"]);
}

#[test]
fn a_token_file_that_exists_or_two_contracts_with_one_name_refuse_the_batch() {
    let (ws, _) = Workspace::with_key("ES256");
    contracts(&ws, "a", 2);
    contracts(&ws, "b", 1);
    std::fs::create_dir(ws.path("tokens")).unwrap();
    ws.write("tokens/c0001.jwt", "an earlier token\n");
    let before = ws.snapshot();

    let taken = ws
        .covenant(&["mint", "--out-dir", "tokens", "a"])
        .passphrase()
        .run();
    assert_eq!(
        taken.fails(2),
        "covenant: nothing was minted, because of the token files' names: a/c0001.toml would \
         be written to tokens/c0001.jwt, which exists. covenant never replaces a token; rename \
         the contract files or choose another --out-dir"
    );
    assert!(ws.snapshot() == before);

    let shared = ws
        .covenant(&["mint", "--out-dir", "fresh", "--keep-going", "a", "b"])
        .passphrase()
        .run();
    assert!(
        shared
            .fails(2)
            .contains("a/c0000.toml and b/c0000.toml would both be written to fresh/c0000.jwt"),
        "{}",
        shared.stderr
    );
    assert!(ws.snapshot() == before);
}

#[test]
fn a_folder_of_many_contracts_gives_one_private_verified_token_each_in_ledger_order() {
    let (mut ws, kid) = Workspace::with_key("ES256");
    // More than token::PARALLEL_MIN, so that the batch is signed on every
    // core and the order must survive the split.
    let n = 150;
    contracts(&ws, "contracts", n);

    let run = ws
        .covenant(&["mint", "--out-dir", "tokens", "contracts"])
        .passphrase()
        .run();
    run.ok();
    assert!(run.stdout.is_empty(), "tokens go to files only");
    assert_eq!(
        run.stderr,
        format!("covenant: minted {n} tokens with key {kid} into tokens\n")
    );
    assert_eq!(mode(&ws.path("tokens")), 0o700);

    let records = minted_records(&ws);
    assert_eq!(records.len(), n);
    for (i, record) in records.iter().enumerate() {
        let path = ws.path(&format!("tokens/c{i:04}.jwt"));
        assert_eq!(mode(&path), 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        let token = text
            .strip_suffix('\n')
            .expect("a token file ends in a newline");
        assert_eq!(record["contract_id"], format!("ACME-{i:04}"));
        assert_eq!(record["token_sha256"], sha256_hex(token.as_bytes()));
        assert_eq!(record["jti"], common::claims(token)["jti"]);
        assert_eq!(
            common::claims(token)["contract"]["id"],
            format!("ACME-{i:04}")
        );
    }

    ws.set_now(DURING_ACME);
    for i in [0, n / 2, n - 1] {
        let run = ws
            .covenant(&["verify", "--audience", AUDIENCE])
            .arg(format!("@tokens/c{i:04}.jwt"))
            .run();
        let claims: Value = serde_json::from_str(run.ok()).unwrap();
        assert_eq!(claims["contract"]["id"], format!("ACME-{i:04}"));
    }
}

#[test]
fn files_and_folders_mix_and_keep_the_order_given() {
    let (ws, _) = Workspace::with_key("ES384");
    contracts(&ws, "z", 2);
    let single = ws.path("acme.toml");
    std::fs::copy(example("acme-logistics.toml"), &single).unwrap();

    ws.covenant(&["mint", "--out-dir", "tokens", "acme.toml", "z"])
        .passphrase()
        .run()
        .ok();

    assert_eq!(
        token_files(&ws.path("tokens")),
        ["acme.jwt", "c0000.jwt", "c0001.jwt"]
    );
    let ids: Vec<String> = minted_records(&ws)
        .iter()
        .map(|r| r["contract_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["ACME-2026-001", "ACME-0000", "ACME-0001"]);
}

#[test]
fn several_contracts_without_out_dir_are_a_usage_error() {
    let (ws, _) = Workspace::with_key("ES256");
    contracts(&ws, "contracts", 2);
    let before = ws.snapshot();
    for args in [
        vec!["mint", "contracts/c0000.toml", "contracts/c0001.toml"],
        vec!["mint", "contracts"],
    ] {
        let run = ws.covenant(&args).passphrase().run();
        assert_eq!(
            run.fails(2),
            "covenant: minting several contracts, or a folder of them, needs --out-dir DIR: \
             each token is written to its own file there"
        );
    }
    let keep_going = ws
        .covenant(&["mint", "--keep-going", "contracts/c0000.toml"])
        .passphrase()
        .run();
    keep_going.fails(2);
    assert!(
        keep_going
            .stderr
            .contains("required arguments were not provided:\n  --out-dir <DIR>"),
        "{}",
        keep_going.stderr
    );
    assert!(ws.snapshot() == before);
}

#[test]
fn a_token_file_keeps_every_dot_of_its_contracts_name() {
    let (ws, _) = Workspace::with_key("ES256");
    let text = std::fs::read_to_string(example("acme-logistics.toml")).unwrap();
    std::fs::create_dir(ws.path("c")).unwrap();
    ws.write("c/acme.v1.toml", &text);
    ws.write(
        "c/acme.v2.toml",
        &text.replacen("ACME-2026-001", "ACME-2026-002", 1),
    );

    ws.covenant(&["mint", "--out-dir", "tokens", "c"])
        .passphrase()
        .run()
        .ok();
    assert_eq!(
        token_files(&ws.path("tokens")),
        ["acme.v1.jwt", "acme.v2.jwt"]
    );
}

#[test]
fn an_output_folder_that_cannot_take_the_tokens_is_refused_before_anything_is_signed() {
    use std::os::unix::fs::symlink;
    let (ws, _) = Workspace::with_key("ES256");
    contracts(&ws, "c", 3);
    symlink(ws.path("nowhere"), ws.path("dangling")).unwrap();
    std::fs::create_dir(ws.path("tokens")).unwrap();
    symlink(ws.path("nowhere"), ws.path("tokens/c0001.jwt")).unwrap();
    let long = "x".repeat(253);
    std::fs::create_dir(ws.path("long")).unwrap();
    ws.write(&format!("long/{long}"), "not even read");
    let ledger = ws.store().join("ledger.jsonl");
    let before = std::fs::read(&ledger).unwrap();

    let long_path = format!("long/{long}");
    let cases: [(&[&str], String); 3] = [
        (
            &["--out-dir", "dangling", "c"],
            "covenant: dangling: --out-dir is a symbolic link to nothing".into(),
        ),
        (
            &["--out-dir", "tokens", "c"],
            "covenant: nothing was minted, because of the token files' names: c/c0001.toml \
             would be written to tokens/c0001.jwt, which exists. covenant never replaces a \
             token; rename the contract files or choose another --out-dir"
                .into(),
        ),
        (
            &["--out-dir", "fresh", &long_path],
            format!(
                "covenant: nothing was minted, because of the token files' names: long/{long}: \
                 the token file name would be longer than 255 bytes. covenant never replaces \
                 a token; rename the contract files or choose another --out-dir"
            ),
        ),
    ];
    for (args, expected) in cases {
        let run = ws.covenant(&["mint"]).args(args).passphrase().run();
        assert_eq!(run.fails(2), expected);
        assert!(
            std::fs::read(&ledger).unwrap() == before,
            "{args:?} wrote to the ledger"
        );
        assert!(!ws.path("fresh").exists());
        assert_eq!(token_files(&ws.path("tokens")), ["c0001.jwt"]);
    }
}

#[test]
fn with_json_a_path_that_is_not_utf8_is_refused_before_anything_is_signed() {
    use std::os::unix::ffi::OsStrExt;
    let (ws, _) = Workspace::with_key("ES256");
    let dir = contracts(&ws, "c", 2);
    let odd = dir.join(std::ffi::OsStr::from_bytes(b"c\xff.toml"));
    std::fs::rename(dir.join("c0001.toml"), &odd).unwrap();
    let before = ws.snapshot();

    let run = ws
        .covenant(&["mint", "--out-dir", "tokens", "--json", "c"])
        .passphrase()
        .run();
    assert_eq!(
        run.fails(2),
        "covenant: c/c\u{fffd}.toml: the path is not UTF-8, so --json cannot report it; \
         rename it, or leave out --json"
    );
    assert!(ws.snapshot() == before);

    // Without --json there is nothing to refuse.
    ws.covenant(&["mint", "--out-dir", "tokens", "c"])
        .passphrase()
        .run()
        .ok();
    assert_eq!(minted_records(&ws).len(), 2);
}

#[test]
fn a_refused_batch_still_reports_its_refusals_in_json() {
    let (ws, kid) = Workspace::with_key("ES256");
    let dir = contracts(&ws, "c", 3);
    for name in ["c0000.toml", "c0002.toml"] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"invoices:read\"", "\"invoice:read\"")).unwrap();
    }

    let run = ws
        .covenant(&["mint", "--out-dir", "tokens", "--json", "c"])
        .passphrase()
        .run();
    run.fails(2);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["kid"], kid.as_str());
    assert_eq!(doc["minted"], serde_json::json!([]));
    let refused: Vec<&str> = doc["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["contract"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["c/c0000.toml", "c/c0002.toml"]);

    // When every contract is refused, --keep-going has nothing to go on with.
    std::fs::remove_file(dir.join("c0001.toml")).unwrap();
    let none = ws
        .covenant(&["mint", "--out-dir", "tokens", "--keep-going", "c"])
        .passphrase()
        .run();
    none.fails(2);
    assert_eq!(
        none.stderr.lines().last().unwrap(),
        "covenant: 2 of 2 contracts were refused (each is reported above); nothing was \
         minted, as none passed"
    );
    assert!(minted_records(&ws).is_empty());
}

#[test]
fn a_reader_that_goes_away_does_not_hide_the_refusals() {
    let (ws, _) = Workspace::with_key("ES256");
    let dir = contracts(&ws, "c", 3);
    let bad = dir.join("c0001.toml");
    let text = std::fs::read_to_string(&bad).unwrap();
    std::fs::write(&bad, text.replace("\"invoices:read\"", "\"invoice:read\"")).unwrap();

    let mut child = ws
        .covenant(&["mint", "--out-dir", "tokens", "--keep-going", "--json", "c"])
        .passphrase()
        .spawn();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.ends_with("the other 2 tokens were minted into tokens\n"),
        "{stderr}"
    );
    assert_eq!(minted_records(&ws).len(), 2);
}

#[test]
fn token_files_left_unfinished_by_a_stopped_batch_are_pointed_out() {
    let (ws, _) = Workspace::with_key("ES256");
    contracts(&ws, "c", 2);
    std::fs::create_dir(ws.path("tokens")).unwrap();
    ws.write("tokens/.c0007.jwt.Xk3q9Z.covenant-tmp", "a token\n");

    let run = ws
        .covenant(&["mint", "--out-dir", "tokens", "c"])
        .passphrase()
        .run();
    run.ok();
    assert!(
        run.stderr.starts_with(
            "covenant: warning: tokens holds 1 unfinished token file (named \
             .NAME.jwt.*.covenant-tmp) left by a batch stopped while writing them; see \
             docs/contracts.md, \"Many contracts at once\""
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        token_files(&ws.path("tokens")),
        [".c0007.jwt.Xk3q9Z.covenant-tmp", "c0000.jwt", "c0001.jwt"]
    );
}

/// Minting a contract again while its token's unfinished file is there
/// would put a second live token on record beside one nobody may hold.
#[test]
fn an_unfinished_token_file_for_a_name_in_the_batch_stops_it() {
    let (ws, _) = Workspace::with_key("ES256");
    contracts(&ws, "c", 2);
    std::fs::create_dir(ws.path("tokens")).unwrap();
    ws.write("tokens/.c0001.jwt.Xk3q9Z.covenant-tmp", "");
    let before = ws.snapshot();

    let run = ws
        .covenant(&["mint", "--out-dir", "tokens", "c"])
        .passphrase()
        .run();
    assert_eq!(
        run.fails(2),
        "covenant: nothing was minted, because of the token files' names: c/c0001.toml would \
         be written to tokens/c0001.jwt, and tokens/.c0001.jwt.Xk3q9Z.covenant-tmp is an \
         unfinished file of that token left by a batch that was stopped: deliver it or revoke \
         it first (see docs/contracts.md, \"Many contracts at once\"). covenant never \
         replaces a token; rename the contract files or choose another --out-dir"
    );
    assert!(
        ws.snapshot() == before,
        "a refused batch changed the workspace"
    );
}

/// Tokens are bearer secrets; a store is copied into every backup.
#[test]
fn tokens_are_never_written_inside_the_store() {
    let (ws, _) = Workspace::with_key("ES256");
    contracts(&ws, "c", 2);
    let before = ws.snapshot();
    let store = std::fs::canonicalize(ws.store()).unwrap();
    for out_dir in ["store", "store/keys", "store/new/deeper"] {
        let run = ws
            .covenant(&["mint", "--out-dir", out_dir, "c"])
            .passphrase()
            .run();
        assert_eq!(
            run.fails(2),
            format!(
                "covenant: {out_dir}: --out-dir is inside the store {}, which holds only \
                 covenant's own files and travels with every copy of the store. Choose a path \
                 outside it",
                store.display()
            )
        );
    }
    let single = ws
        .covenant(&["mint", "--out", "store/acme.jwt"])
        .arg(example("acme-logistics.toml"))
        .passphrase()
        .run();
    assert!(
        single
            .fails(2)
            .contains("store/acme.jwt: --out is inside the store"),
        "{single:?}"
    );
    assert!(
        ws.snapshot() == before,
        "a refused mint changed the workspace"
    );
}

/// Nothing was minted, so nothing is left: not even the folder made for it.
#[test]
fn a_key_that_does_not_unlock_leaves_no_output_folder_behind() {
    let (ws, _) = Workspace::with_key("ES256");
    contracts(&ws, "c", 2);
    ws.write("wrong", "not the passphrase\n");
    let before = ws.snapshot();
    let run = ws
        .covenant(&[
            "mint",
            "--out-dir",
            "tokens",
            "c",
            "--passphrase-file",
            "wrong",
        ])
        .run();
    run.fails(2);
    assert!(
        run.stderr.contains("covenant: wrong passphrase for key"),
        "{run:?}"
    );
    assert!(!ws.path("tokens").exists());
    assert!(ws.snapshot() == before);

    let missing = ws
        .covenant(&[
            "mint",
            "--out-dir",
            "tokens",
            "c",
            "--passphrase-file",
            "nowhere",
        ])
        .run();
    missing.fails(2);
    assert!(!ws.path("tokens").exists());
}

/// A `*.toml` entry in a folder that is not a regular file is a contract
/// that cannot be read, not one to leave out without a word; a name in
/// another case is not a contract, and is said to be skipped.
#[test]
fn every_toml_entry_in_a_folder_is_a_contract_and_other_cases_are_named() {
    let (ws, _) = Workspace::with_key("ES256");
    let dir = contracts(&ws, "c", 2);
    std::os::unix::fs::symlink(ws.path("gone.toml"), dir.join("dangling.toml")).unwrap();
    std::fs::copy(dir.join("c0000.toml"), dir.join("upper.TOML")).unwrap();

    let run = ws
        .covenant(&["mint", "--out-dir", "tokens", "c"])
        .passphrase()
        .run();
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        "covenant: warning: c/upper.TOML: not read, as only files named *.toml (in lower \
         case) are contracts"
    );
    assert!(
        run.stderr
            .contains("covenant: c/dangling.toml: cannot read"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("1 of 3 contracts were refused (each is reported above); nothing was minted"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 2);
    assert!(minted_records(&ws).is_empty());
}
