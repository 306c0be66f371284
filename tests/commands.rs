//! Every command, run as the real binary in its own workspace, doing its
//! job: what it prints, what it writes, and with which permissions.

mod common;

use base64::Engine;
use common::{AUDIENCE, DURING_ACME, ISSUER, Workspace, claims, example, header, mode};
use serde_json::{Value, json};

const ALGORITHMS: [&str; 5] = ["ES256", "ES384", "EdDSA", "RS256", "PS256"];

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn init_from_a_policy_file_creates_the_store_and_prints_the_root_fingerprint() {
    let ws = Workspace::new();
    let run = ws
        .covenant(&["init", "--policy"])
        .arg(example("policy.toml"))
        .passphrase()
        .run();

    let fingerprint = run.ok().trim();
    assert_eq!(fingerprint.len(), 64);
    assert!(fingerprint.bytes().all(|b| b.is_ascii_hexdigit()));
    let grouped = covenant::cmd::init::grouped(fingerprint);
    assert_eq!(
        run.stderr,
        format!(
            "covenant: created store {}\n\
             covenant: root key fingerprint (auditors pin this):\n  {grouped}\n",
            ws.store().display()
        )
    );
    assert_eq!(
        std::fs::read(ws.store().join("covenant.toml")).unwrap(),
        std::fs::read(example("policy.toml")).unwrap()
    );
    for part in ["ledger.jsonl", "root.age", "keys"] {
        assert!(ws.store().join(part).exists(), "{part} is missing");
    }
}

#[test]
fn init_with_only_an_issuer_writes_the_policy_template_for_it() {
    let ws = Workspace::new();
    let run = ws
        .covenant(&["init", "--issuer", "https://tokens.globex.test", "--json"])
        .passphrase()
        .run();

    let doc = json(run.ok());
    assert_eq!(doc["store"], json!(ws.store()));
    // The fingerprint auditors pin is the root key's RFC 7638 thumbprint,
    // the same bytes as its kid, in hex.
    let kid = doc["root"]["kid"].as_str().unwrap();
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(kid)
        .unwrap();
    assert_eq!(thumbprint.len(), 32);
    assert_eq!(doc["root"]["fingerprint"], hex::encode(thumbprint));
    let policy = std::fs::read_to_string(ws.store().join("covenant.toml")).unwrap();
    assert!(
        policy.contains("issuer = \"https://tokens.globex.test\""),
        "{policy}"
    );
}

#[test]
fn key_generate_makes_a_key_of_every_algorithm_and_only_the_first_signs() {
    let ws = Workspace::with_store();
    let mut kids = Vec::new();
    for (i, alg) in ALGORITHMS.iter().enumerate() {
        let mut generate = ws.covenant(&["key", "generate", "--alg", alg, "--json"]);
        if alg.starts_with("RS") || alg.starts_with("PS") {
            generate = generate.args(["--bits", "2048"]);
        }
        let doc = json(generate.passphrase().run().ok());
        let kid = doc["kid"].as_str().unwrap().to_string();
        assert_eq!(doc["alg"], *alg);
        let (state, until) = if i == 0 {
            ("active", json!("2027-06-01T00:00:00Z"))
        } else {
            ("next", Value::Null)
        };
        assert_eq!(doc["state"], state, "{alg}");
        assert_eq!(doc["signs_until"], until, "{alg}");
        let file = ws.store().join("keys").join(format!("{kid}.age"));
        assert_eq!(doc["file"], json!(file));
        assert_eq!(mode(&file), 0o600);
        assert!(
            std::fs::read(&file)
                .unwrap()
                .starts_with(b"age-encryption.org/v1\n"),
            "{alg} key file is not an age file"
        );
        kids.push(kid);
    }

    let list = json(ws.covenant(&["key", "list", "--json"]).run().ok());
    let listed: Vec<_> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["alg"].as_str().unwrap()))
        .collect();
    let expected: Vec<_> = kids.iter().map(String::as_str).zip(ALGORITHMS).collect();
    assert_eq!(listed, expected);
    assert_eq!(
        list["keys"][0],
        json!({
            "kid": kids[0],
            "alg": "ES256",
            "state": "active",
            "created": "2026-06-01T00:00:00Z",
            "signs_from": "2026-06-01T00:00:00Z",
            "signs_until": "2027-06-01T00:00:00Z",
            "tokens": 0,
            "published_until": list["keys"][0]["published_until"],
            "custody": "passphrase",
            "recipients": [],
            "retired": null,
            "revoked": null,
            "destroyed": null,
            "key_file": "ok",
        })
    );
    assert_eq!(list["root_key_file"], "ok");
}

#[test]
fn jwks_publishes_public_members_only_and_out_writes_the_same_document_privately() {
    let (ws, kid) = Workspace::with_key("ES256");
    let printed = ws.covenant(&["jwks"]).run().ok().to_string();
    let doc = json(&printed);
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let mut names: Vec<_> = keys[0].as_object().unwrap().keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert_eq!(keys[0]["kid"], kid);
    assert_eq!(keys[0]["crv"], "P-256");
    assert_eq!(keys[0]["use"], "sig");

    let out = ws.path("jwks.json");
    ws.covenant(&["jwks", "--out"]).arg(&out).run().ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), printed);
    assert_eq!(mode(&out), 0o600);
}

#[test]
fn mint_prints_the_token_on_stdout_and_its_summary_on_stderr() {
    let (ws, kid) = Workspace::with_key("ES256");
    let run = ws
        .covenant(&["mint"])
        .arg(example("acme-logistics.toml"))
        .passphrase()
        .run();

    let token = run.ok().trim();
    let jti = claims(token)["jti"].as_str().unwrap().to_string();
    assert_eq!(
        run.stderr,
        format!(
            "covenant: minted {jti} for acme-logistics (kid {kid}), \
             valid 2026-12-01T00:00:00Z to 2029-12-01T00:00:00Z\n"
        )
    );
    assert_eq!(
        header(token),
        json!({ "alg": "ES256", "typ": "JWT", "kid": kid })
    );
}

#[test]
fn the_acme_logistics_example_gives_exactly_its_contract_dates_as_integers() {
    let (ws, _) = Workspace::with_key("ES256");
    let token = ws.mint_acme();
    let claims = claims(&token);

    // 2026-12-01T00:00:00Z and 2029-12-01T00:00:00Z.
    assert_eq!(claims["nbf"], json!(1796083200));
    assert_eq!(claims["exp"], json!(1890777600));
    assert!(claims["nbf"].is_u64() && claims["exp"].is_u64());
    assert_eq!(claims["iat"], json!(1780272000));
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "acme-logistics");
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["scope"], "shipments:read invoices:read");
    assert_eq!(claims["tier"], "gold");
    assert_eq!(claims["region"], "eu-west");
    assert_eq!(claims["contract"]["id"], "ACME-2026-001");
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        &std::fs::read(example("acme-logistics.toml")).unwrap(),
    );
    assert_eq!(claims["contract"]["sha256"], hex::encode(digest));
}

#[test]
fn mint_out_writes_a_new_private_file_and_json_summarises_without_the_token() {
    let (ws, kid) = Workspace::with_key("EdDSA");
    let out = ws.path("acme.jwt");
    let run = ws
        .covenant(&["mint", "--json", "--out"])
        .arg(&out)
        .arg(example("acme-logistics.toml"))
        .passphrase()
        .run();

    let doc = json(run.ok());
    let token = std::fs::read_to_string(&out).unwrap();
    assert!(token.ends_with('\n'));
    assert_eq!(token.trim().split('.').count(), 3);
    assert_eq!(mode(&out), 0o600);
    assert_eq!(doc["kid"], kid);
    assert_eq!(doc["sub"], "acme-logistics");
    assert_eq!(doc["aud"], AUDIENCE);
    assert_eq!(doc["nbf"], 1796083200);
    assert_eq!(doc["exp"], 1890777600);
    assert_eq!(doc["out"], json!(out));
    assert_eq!(doc["jti"], claims(token.trim())["jti"]);
    assert!(doc.get("token").is_none(), "the token went to --out only");

    let printed = json(
        ws.covenant(&["mint", "--json"])
            .arg(example("acme-logistics.toml"))
            .passphrase()
            .run()
            .ok(),
    );
    assert_eq!(printed["token"].as_str().unwrap().split('.').count(), 3);
}

#[test]
fn verify_reads_the_token_from_a_file_or_stdin_and_never_from_argv() {
    let (mut ws, kid) = Workspace::with_key("ES384");
    let token = ws.mint_acme();
    let token_file = ws.write("acme.jwt", &format!("{token}\n"));
    ws.set_now(DURING_ACME);

    // Without --audience, the store's policy says which audiences count.
    let expected_stderr =
        format!("covenant: valid: signed by {kid} (ES384), expires 2029-12-01T00:00:00Z\n");
    let run = ws
        .covenant(&["verify"])
        .arg(format!("@{}", token_file.display()))
        .run();
    assert_eq!(json(run.ok()), claims(&token));
    assert_eq!(sorted_lines(&run.stderr), sorted_lines(&expected_stderr));

    // The token itself in argv is refused, and not echoed.
    let inline = ws.covenant(&["verify"]).arg(&token).run();
    assert!(
        inline
            .fails(2)
            .starts_with("covenant: a token is a bearer secret"),
        "{inline:?}"
    );
    assert!(!inline.stderr.contains(&token));
    let run = ws
        .covenant(&["verify", "-", "--audience", AUDIENCE])
        .stdin(format!("{token}\n").as_bytes())
        .run();
    assert_eq!(json(run.ok()), claims(&token));
}

#[test]
fn verify_json_reports_the_key_the_header_and_the_claims() {
    let (mut ws, kid) = Workspace::with_key("PS256");
    let token = ws.mint_acme();
    ws.set_now(DURING_ACME);
    let jwks = ws.path("jwks.json");
    ws.covenant(&["jwks", "--out"]).arg(&jwks).run().ok();

    let run = ws
        .covenant(&["verify", "-", "--json", "--audience", AUDIENCE, "--jwks"])
        .arg(&jwks)
        .stdin(token.as_bytes())
        .run();
    assert_eq!(
        json(run.ok()),
        json!({
            "valid": true,
            "kid": kid,
            "alg": "PS256",
            "header": header(&token),
            "claims": claims(&token),
        })
    );
}

#[test]
fn every_store_file_is_private_even_under_a_permissive_umask() {
    let ws = Workspace::new();
    ws.covenant(&["init", "--policy"])
        .arg(example("policy.toml"))
        .passphrase()
        .umask(0o000)
        .run()
        .ok();
    ws.covenant(&["key", "generate", "--alg", "EdDSA"])
        .passphrase()
        .umask(0o000)
        .run()
        .ok();
    let out = ws.path("acme.jwt");
    ws.covenant(&["mint", "--out"])
        .arg(&out)
        .arg(example("acme-logistics.toml"))
        .passphrase()
        .umask(0o000)
        .run()
        .ok();
    let jwks = ws.path("jwks.json");
    ws.covenant(&["jwks", "--out"])
        .arg(&jwks)
        .umask(0o000)
        .run()
        .ok();

    assert_eq!(mode(&ws.store()), 0o700);
    for (path, (mode, _)) in common::snapshot(&ws.store()) {
        let full = ws.store().join(&path);
        let expected = if full.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode & 0o777, expected, "{}", path.display());
    }
    assert_eq!(mode(&out), 0o600);
    assert_eq!(mode(&jwks), 0o600);
}

/// Lines in a stable order, for output whose warnings come in an order
/// that does not matter.
fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<_> = text.lines().collect();
    lines.sort();
    lines
}
