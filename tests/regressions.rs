//! Behaviours that an adversarial review of covenant found wrong, each
//! pinned so that it stays fixed.

mod common;

use common::{AUDIENCE, DURING_ACME, Workspace, example};

/// A mint whose --out cannot be written must refuse before signing: a
/// token recorded in the ledger but never delivered would count as live.
#[test]
fn a_mint_whose_output_cannot_be_written_records_nothing() {
    let (ws, _) = Workspace::with_key("ES256");
    std::os::unix::fs::symlink(ws.path("nowhere"), ws.path("dangling.jwt")).unwrap();
    for (out, message) in [
        (ws.path("dangling.jwt"), "the output file exists"),
        (
            ws.path("missing-dir/acme.jwt"),
            "no such directory for --out",
        ),
    ] {
        let before = common::snapshot(&ws.store());
        let run = ws
            .covenant(&["mint", "--out"])
            .arg(&out)
            .arg(example("acme-logistics.toml"))
            .passphrase()
            .run();
        assert!(run.fails(2).contains(message), "{}", run.stderr);
        assert_eq!(
            common::snapshot(&ws.store()),
            before,
            "nothing was recorded for {}",
            out.display()
        );
    }
}

#[test]
fn a_leeway_beyond_the_policy_cap_is_refused_on_the_command_line() {
    let (mut ws, _) = Workspace::with_key("ES256");
    let token = ws.mint_acme();
    ws.set_now(DURING_ACME);
    let run = ws
        .covenant(&["verify", "-", "--audience", AUDIENCE, "--leeway", "100000h"])
        .stdin(token.as_bytes())
        .run();
    assert!(
        run.fails(2).contains("--leeway: at most 600 seconds"),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_without_an_audience_or_a_store_is_refused() {
    let (mut ws, _) = Workspace::with_key("ES256");
    let token = ws.mint_acme();
    let jwks = ws.path("jwks.json");
    ws.covenant(&["jwks", "--out"]).arg(&jwks).run().ok();
    ws.set_now(DURING_ACME);
    let run = ws
        .covenant(&[
            "verify",
            "-",
            "--issuer",
            "https://issuer.example.com",
            "--jwks",
        ])
        .arg(&jwks)
        .stdin(token.as_bytes())
        .env("COVENANT_STORE", ws.path("no-store-here"))
        .run();
    assert!(run.fails(2).contains("give --audience"), "{}", run.stderr);
}

#[test]
fn reasons_and_actors_with_control_characters_are_refused() {
    let (ws, kid) = Workspace::with_key("ES256");
    let before = ws.snapshot();
    let run = ws
        .covenant(&[
            "key",
            "retire",
            &kid,
            "--reason",
            "ok\u{1b}[2J\nforged line",
        ])
        .run();
    run.fails(2);
    assert!(
        run.stderr
            .contains("control or invisible characters (found U+001B)"),
        "{}",
        run.stderr
    );
    let run = ws
        .covenant(&["key", "list"])
        .env("COVENANT_ACTOR", "evil\u{202e}")
        .run();
    assert!(run.fails(2).contains("--actor:"), "{}", run.stderr);
    assert_eq!(ws.snapshot(), before);
}

/// `covenant log | head -1` is an ordinary thing to type; the reader
/// leaving early is not an error, and never a panic.
#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    let (ws, _) = Workspace::with_key("ES256");
    for _ in 0..3 {
        ws.mint_acme();
    }
    let script = format!(
        "'{}' log | head -c 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_covenant")
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("COVENANT_STORE", ws.store())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

/// Messages on stderr are for people; when nobody can read them (stderr is
/// a pipe whose reader has died), the command still does its job and exits
/// with its documented status. A panic would exit 101, and a mint that
/// panicked on its "minted" message had recorded a token it never printed.
#[test]
fn a_closed_stderr_changes_nothing_but_the_messages() {
    let (ws, _) = Workspace::with_key("ES256");
    let before = ws.snapshot();
    let text = std::fs::read_to_string(example("acme-logistics.toml")).unwrap();
    ws.write(
        "contract.toml",
        &text.replacen("\"shipments:read\"", "\"shipment:read\"", 1),
    );
    let refused = ws
        .covenant(&["mint", "contract.toml"])
        .passphrase()
        .run_with_stderr_closed();
    assert_eq!(refused.code, 2, "stdout:\n{}", refused.stdout);
    assert_eq!(refused.stdout, "");
    std::fs::remove_file(ws.path("contract.toml")).unwrap();
    assert_eq!(ws.snapshot(), before, "a refused mint changed nothing");

    let minted = ws
        .covenant(&["mint"])
        .arg(example("acme-logistics.toml"))
        .passphrase()
        .run_with_stderr_closed();
    assert_eq!(minted.code, 0, "stdout:\n{}", minted.stdout);
    let token = minted.stdout.trim();
    let jti = common::claims(token)["jti"].as_str().unwrap().to_string();
    assert_eq!(common::claims(token)["sub"], "acme-logistics");
    let status: serde_json::Value =
        serde_json::from_str(ws.covenant(&["status", "--json"]).run().ok()).unwrap();
    let recorded: Vec<&str> = status["tokens_expiring"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["jti"].as_str().unwrap())
        .collect();
    assert_eq!(recorded, [jti.as_str()]);
}

/// No command writes its output among the store's own files: `jwks --out
/// store/root.age` would have replaced the root key, and `status --out
/// store/ledger.jsonl` the ledger. A link that leads into the store is
/// refused as well.
#[test]
fn no_output_is_written_inside_the_store() {
    let (ws, kid) = Workspace::with_key("ES256");
    std::os::unix::fs::symlink(ws.store(), ws.path("into-store")).unwrap();
    let before = common::snapshot(&ws.store());
    for target in [
        "store/root.age",
        "store/ledger.jsonl",
        "into-store/out.json",
    ] {
        let commands: [&[&str]; 6] = [
            &["jwks", "--out", target],
            &["status", "--calendar", "--out", target],
            &["key", "export", &kid, "--public", "--out", target],
            &["revocations", "--out", target],
            &["manifest", "export", "--out", target],
            &["ceremony", "run", "key-generation", "--out-dir", target],
        ];
        for args in commands {
            let mut command = ws.covenant(args);
            if matches!(args[0], "revocations" | "manifest") {
                command = command.passphrase();
            }
            let run = command.run();
            let flag = args[args.len() - 2];
            assert!(
                run.fails(2)
                    .starts_with(&format!("covenant: {target}: {flag} is inside the store")),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
    assert!(
        common::snapshot(&ws.store()) == before,
        "a refused command changed the store"
    );
}

/// Files covenant reads that are not regular files: a FIFO in the place of
/// the pending-append marker would hang every command, readers included,
/// and `--passphrase-file /dev/zero` would fill memory. Each is refused
/// at once; `timeout` turns a hang into a failure here.
#[test]
fn a_fifo_or_a_device_where_a_file_belongs_is_refused_without_waiting() {
    let (ws, _) = Workspace::with_key("ES256");
    let mkfifo = |path: &std::path::Path| {
        let made = std::process::Command::new("mkfifo").arg(path).status();
        assert!(made.unwrap().success());
    };
    mkfifo(&ws.store().join("ledger.pending"));
    let run = ws.covenant(&["status"]).wrap(&["timeout", "20"]).run();
    assert!(
        run.fails(1)
            .contains("ledger.pending: not a regular file. Nothing was changed."),
        "{}",
        run.stderr
    );
    std::fs::remove_file(ws.store().join("ledger.pending")).unwrap();

    let before = common::snapshot(&ws.store());
    let run = ws
        .covenant(&["mint", "--passphrase-file", "/dev/zero"])
        .arg(example("acme-logistics.toml"))
        .wrap(&["timeout", "20"])
        .run();
    assert_eq!(
        run.fails(2),
        "covenant: /dev/zero: not a regular file or a pipe"
    );
    assert_eq!(common::snapshot(&ws.store()), before);
}

/// `verify` refuses the same input the same way from a file and from stdin.
#[test]
fn verify_judges_a_token_file_and_stdin_alike() {
    let ws = Workspace::new();
    let jwks = ws.write("jwks.json", r#"{"keys":[]}"#);
    let not_text = ws.path("not-text");
    std::fs::write(&not_text, b"\xff\xfe").unwrap();
    let verify = |source: &str| {
        ws.covenant(&["verify", source, "--audience", AUDIENCE, "--jwks"])
            .arg(&jwks)
    };
    let from_file = verify(&format!("@{}", not_text.display())).run();
    let from_stdin = verify("-").stdin(b"\xff\xfe").run();
    assert_eq!(
        from_file.fails(1),
        format!(
            "covenant: token rejected: {} is not UTF-8 text",
            not_text.display()
        )
    );
    assert_eq!(
        from_stdin.fails(1),
        "covenant: token rejected: stdin is not UTF-8 text"
    );
}

/// An identity given where a recipients file belongs is an easy mistake;
/// the refusal names the line and never prints it.
#[test]
fn a_recipients_file_line_that_is_not_a_recipient_is_not_printed() {
    let (ws, kid) = Workspace::with_key("ES256");
    let identity = ws.write("officer.key", "AGE-SECRET-KEY-1EXAMPLESECRET\n");
    let before = common::snapshot(&ws.store());
    let run = ws
        .covenant(&["key", "rewrap", &kid, "--recipients-file"])
        .arg(&identity)
        .passphrase()
        .run();
    let refusal = run.fails(2);
    assert!(
        refusal.starts_with(&format!(
            "covenant: {}:1: the line is not an age X25519 recipient",
            identity.display()
        )),
        "{refusal}"
    );
    assert!(!run.stderr.contains("EXAMPLESECRET"), "{}", run.stderr);
    assert_eq!(common::snapshot(&ws.store()), before);
}
