//! Bad input of every kind: each is refused with exit status 2 and a
//! one-line cause that names the file, line and field where there is one,
//! and the workspace, store included, is byte-for-byte what it was.

mod common;

use common::{Workspace, example};

/// Runs `invocation`, checks it was refused with status 2 and touched
/// nothing, and returns the first line of stderr.
fn refused(ws: &Workspace, invocation: common::Invocation<'_>) -> String {
    let before = ws.snapshot();
    let run = invocation.run();
    let cause = run.fails(2).to_string();
    assert!(
        run.stdout.is_empty(),
        "a refusal printed on stdout: {}",
        run.stdout
    );
    let after = ws.snapshot();
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "a refused command added or removed files"
    );
    assert!(before == after, "a refused command changed a file");
    cause
}

/// Writes contract.toml: the ACME Logistics example with one piece of
/// text replaced. Tests name it relative to the workspace, so the messages
/// they pin name it the same way.
fn acme_with(ws: &Workspace, from: &str, to: &str) {
    let text = std::fs::read_to_string(example("acme-logistics.toml")).unwrap();
    assert!(text.contains(from), "the example has no {from:?}");
    ws.write("contract.toml", &text.replacen(from, to, 1));
}

/// Mints `contract` in a workspace with an active key.
fn mint_refused(from: &str, to: &str) -> String {
    let (ws, _) = Workspace::with_key("ES256");
    acme_with(&ws, from, to);
    refused(&ws, ws.covenant(&["mint", "contract.toml"]).passphrase())
}

#[test]
fn malformed_toml_names_the_line() {
    assert_eq!(
        mint_refused("partner = \"acme-logistics\"", "partner = \"acme-logistics"),
        "covenant: contract.toml:6:45: [contract] partner: invalid basic string, expected `\"`"
    );
}

#[test]
fn a_value_of_the_wrong_type_names_the_field() {
    assert_eq!(
        mint_refused(
            "scopes = [\"shipments:read\", \"invoices:read\"]",
            "scopes = \"shipments:read\""
        ),
        "covenant: contract.toml:12:10: [token] scopes: invalid type: string \"shipments:read\", expected a sequence"
    );
}

#[test]
fn an_unknown_field_is_refused_rather_than_ignored() {
    assert_eq!(
        mint_refused("partner = ", "partnr = "),
        "covenant: contract.toml:6:1: [contract] partnr: unknown field `partnr`, expected one of `id`, `partner`, `start`, `end`, `term`"
    );
}

#[test]
fn a_scope_outside_the_policy_suggests_the_nearest_one() {
    assert_eq!(
        mint_refused("\"shipments:read\"", "\"shipment:read\""),
        "covenant: contract.toml:12:11: [token] scopes: scope \"shipment:read\" is not in the policy (did you mean \"shipments:read\"?)"
    );
}

#[test]
fn an_audience_outside_the_policy_suggests_the_nearest_one() {
    assert_eq!(
        mint_refused(
            "https://api.example.com/partners",
            "https://api.example.com/partner"
        ),
        "covenant: contract.toml:11:12: [token] audience: audience \"https://api.example.com/partner\" is not in the policy (did you mean \"https://api.example.com/partners\"?)"
    );
}

#[test]
fn a_contract_that_ends_before_it_starts_is_refused() {
    assert_eq!(
        mint_refused("end = 2029-12-01", "end = 2026-11-01"),
        "covenant: contract.toml:8:7: [contract] end: the contract ends (2026-11-01T00:00:00Z) before it starts (2026-12-01T00:00:00Z)"
    );
}

#[test]
fn a_contract_that_has_already_ended_is_refused() {
    let (ws, _) = Workspace::with_key("ES256");
    let text = std::fs::read_to_string(example("acme-logistics.toml"))
        .unwrap()
        .replace("start = 2026-12-01", "start = 2023-01-01")
        .replace("end = 2029-12-01", "end = 2026-01-01");
    ws.write("contract.toml", &text);
    assert_eq!(
        refused(&ws, ws.covenant(&["mint", "contract.toml"]).passphrase()),
        "covenant: contract.toml:8:7: [contract] end: the contract ended on 2026-01-01T00:00:00Z; it is now 2026-06-01T00:00:00Z"
    );
}

#[test]
fn a_lifetime_over_the_policy_maximum_is_refused() {
    assert_eq!(
        mint_refused("end = 2029-12-01", "end = 2031-12-02"),
        "covenant: contract.toml:8:7: [contract] end: the token would live from 2026-12-01T00:00:00Z to 2031-12-02T00:00:00Z, longer than the policy's max_token_lifetime of 5y (latest end 2031-12-01T00:00:00Z)"
    );
}

#[test]
fn a_contract_with_both_an_end_and_a_term_is_refused() {
    assert_eq!(
        mint_refused("end = 2029-12-01", "end = 2029-12-01\nterm = \"3y\""),
        "covenant: contract.toml:8:7: [contract] end: give either `end` or `term`, not both"
    );
}

#[test]
fn a_reserved_claim_in_the_claims_table_is_refused() {
    assert_eq!(
        mint_refused("tier = \"gold\"", "aud = \"https://evil.example\""),
        "covenant: contract.toml:15:1: [claims] aud: claim \"aud\" is set by covenant or reserved by a JWT specification"
    );
}

/// Go's encoding/json folds `ſ` (long s) to `s` when it matches member
/// names, so `ſcope` would reach a Go gateway as `scope`; names outside
/// visible ASCII are refused before the reserved names are compared.
#[test]
fn a_claim_name_outside_visible_ascii_is_refused() {
    let because = "may hold only visible ASCII characters (letters, digits, punctuation): \
                   decoders fold other characters differently, so a gateway could read it as \
                   another claim";
    for (name, shown) in [
        ("\"ſcope\"", "\"ſcope\""),
        ("\"iſs\"", "\"iſs\""),
        ("\"sc\\u200Bope\"", "\"sc\\u{200b}ope\""),
        ("\"a\\u0000b\"", "\"a\\0b\""),
        ("\"tier level\"", "\"tier level\""),
    ] {
        let refusal = mint_refused("tier = \"gold\"", &format!("{name} = \"x\""));
        assert!(
            refusal.starts_with("covenant: contract.toml:15:1: [claims] ")
                && refusal.ends_with(&format!("claim name {shown} {because}")),
            "{name}: {refusal}"
        );
    }
    assert_eq!(
        mint_refused("tier = \"gold\"", "Scope = \"admin\""),
        "covenant: contract.toml:15:1: [claims] Scope: claim \"Scope\" is set by covenant or reserved by a JWT specification"
    );
}

#[test]
fn a_wrong_passphrase_unlocks_nothing() {
    let (ws, kid) = Workspace::with_key("ES256");
    let wrong = ws.write("wrong-passphrase", "incorrect horse battery staple\n");
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mint = ws
        .covenant(&["mint"])
        .arg(example("acme-logistics.toml"))
        .arg("--passphrase-file")
        .arg(&wrong);
    assert_eq!(
        refused(&ws, mint),
        format!("covenant: wrong passphrase for key {kid}; nothing was changed")
    );
}

#[test]
fn without_a_terminal_or_a_passphrase_file_nothing_is_asked_or_done() {
    let (ws, _) = Workspace::with_key("ES256");
    let mint = ws
        .covenant(&["mint"])
        .arg(example("acme-logistics.toml"))
        .without_terminal();
    assert_eq!(
        refused(&ws, mint),
        "covenant: no terminal to ask for the passphrase on; give --passphrase-file PATH (a file or /dev/fd/N) for unattended use"
    );

    let generate = ws.covenant(&["key", "generate"]).without_terminal();
    assert_eq!(
        refused(&ws, generate),
        "covenant: no terminal to ask for the passphrase on; give --passphrase-file PATH (a file or /dev/fd/N) for unattended use"
    );
}

#[test]
fn a_missing_store_is_named_with_how_to_make_one() {
    let ws = Workspace::new();
    let mint = ws
        .covenant(&["mint"])
        .arg(example("acme-logistics.toml"))
        .passphrase();
    assert_eq!(
        refused(&ws, mint),
        format!(
            "covenant: {}: no store here; create one with `covenant init`, or point --store (or COVENANT_STORE) at an existing one",
            ws.store().display()
        )
    );
}

#[test]
fn a_store_missing_its_ledger_or_its_keys_is_incomplete() {
    for part in ["ledger.jsonl", "keys"] {
        let (ws, _) = Workspace::with_key("ES256");
        let path = ws.store().join(part);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
        let mint = ws
            .covenant(&["mint"])
            .arg(example("acme-logistics.toml"))
            .passphrase();
        assert_eq!(
            refused(&ws, mint),
            format!(
                "covenant: {}: the store is incomplete: {part} is missing",
                ws.store().display()
            )
        );
        assert_eq!(
            refused(&ws, ws.covenant(&["key", "list"])),
            format!(
                "covenant: {}: the store is incomplete: {part} is missing",
                ws.store().display()
            )
        );
    }
}

#[test]
fn init_refuses_to_overwrite_an_existing_store() {
    let ws = Workspace::with_store();
    let init = ws
        .covenant(&["init", "--issuer", "https://other.example"])
        .passphrase();
    assert_eq!(
        refused(&ws, init),
        format!(
            "covenant: {}: a store already exists here; refusing to overwrite it",
            ws.store().display()
        )
    );
}

#[test]
fn init_with_a_broken_policy_creates_no_store() {
    let ws = Workspace::new();
    let policy = std::fs::read_to_string(example("policy.toml"))
        .unwrap()
        .replace("max_token_lifetime = \"5y\"", "max_token_lifetime = 5");
    ws.write("policy.toml", &policy);
    let init = ws
        .covenant(&["init", "--policy", "policy.toml"])
        .passphrase();
    assert_eq!(
        refused(&ws, init),
        "covenant: policy.toml:8:22: [policy] max_token_lifetime: invalid type: integer `5`, expected a string"
    );
}

#[test]
fn mint_never_overwrites_an_existing_out_file() {
    let (ws, _) = Workspace::with_key("ES256");
    let out = ws.write("acme.jwt", "an earlier token\n");
    let mint = ws
        .covenant(&["mint", "--out"])
        .arg(&out)
        .arg(example("acme-logistics.toml"))
        .passphrase();
    assert_eq!(
        refused(&ws, mint),
        format!(
            "covenant: {}: the output file exists; covenant does not overwrite tokens",
            out.display()
        )
    );
}

#[test]
fn bits_are_refused_for_keys_that_are_not_rsa() {
    let ws = Workspace::with_store();
    let generate = ws
        .covenant(&["key", "generate", "--alg", "ES256", "--bits", "2048"])
        .passphrase();
    assert_eq!(
        refused(&ws, generate),
        "covenant: --bits applies to RSA keys only, not ES256"
    );
}

#[test]
fn an_algorithm_the_policy_does_not_allow_is_refused() {
    let ws = Workspace::new();
    ws.covenant(&["init", "--issuer", "https://issuer.example.com"])
        .passphrase()
        .run()
        .ok();
    let generate = ws
        .covenant(&["key", "generate", "--alg", "RS256", "--bits", "2048"])
        .passphrase();
    assert_eq!(
        refused(&ws, generate),
        "covenant: the policy does not allow RS256 keys; it allows ES256, EdDSA"
    );
}

#[test]
fn rsa_keys_under_2048_bits_and_symmetric_algorithms_are_refused() {
    let ws = Workspace::with_store();
    let small = ws
        .covenant(&["key", "generate", "--alg", "RS256", "--bits", "1024"])
        .passphrase();
    assert_eq!(
        refused(&ws, small),
        "covenant: --bits must be 2048, 3072 or 4096 (RSA under 2048 bits is refused), not 1024"
    );
    let hmac = ws
        .covenant(&["key", "generate", "--alg", "HS256"])
        .passphrase();
    assert_eq!(
        refused(&ws, hmac),
        "error: invalid value 'HS256' for '--alg <ALG>': unsupported algorithm \"HS256\"; \
         covenant signs with ES256, ES384, EdDSA, RS256, PS256"
    );
}

#[test]
fn a_start_without_an_offset_is_ambiguous_and_refused() {
    assert_eq!(
        mint_refused("start = 2026-12-01", "start = 2026-12-01T09:00:00"),
        "covenant: contract.toml:7:9: [contract] start: a date-time needs an offset \
         (Z or +hh:mm); a local time is ambiguous"
    );
}

#[test]
fn json_output_refuses_an_out_path_it_could_not_report() {
    use std::os::unix::ffi::OsStrExt;
    let (ws, _) = Workspace::with_key("ES256");
    let out = ws.path("t").join(std::ffi::OsStr::from_bytes(b"\xfe.jwt"));
    std::fs::create_dir(ws.path("t")).unwrap();
    let before = common::snapshot(&ws.store());
    let run = ws
        .covenant(&["mint", "--json", "--out"])
        .arg(&out)
        .arg(example("acme-logistics.toml"))
        .passphrase()
        .run();
    assert!(
        run.fails(2).ends_with(
            "the path is not UTF-8, so --json cannot report it; rename it, or leave out --json"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(common::snapshot(&ws.store()), before);
}

/// A secret file given where a contract belongs is not quoted back: an age
/// identity or a passphrase file fails TOML on its first line of content,
/// and the refusal then gives only the position.
#[test]
fn a_file_that_is_not_toml_is_refused_without_quoting_it() {
    let (ws, _) = Workspace::with_key("ES256");
    let identity = ws.write(
        "officer.key",
        "# created: 2026-12-01T00:00:00Z\n# public key: age1example\nAGE-SECRET-KEY-1EXAMPLESECRET\n",
    );
    let run = ws.covenant(&["mint"]).arg(&identity).passphrase().run();
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "covenant: {}:3:30: key with no value, expected `=`; the file's first line of \
             content does not parse, so it may not be TOML at all, and its text is not shown\n",
            identity.display()
        )
    );
}
