//! The signed revocation list: what a gateway loads to refuse revoked
//! tokens and keys, checked with PyJWT and the root's public JWK only.

mod common;

use std::process::Command;

use common::{Workspace, claims};

/// The root's public JWK, as the first ledger record publishes it.
fn root_jwk(ws: &Workspace) -> serde_json::Value {
    let ledger = std::fs::read_to_string(ws.store().join("ledger.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(ledger.lines().next().unwrap()).unwrap();
    first["event"]["payload"]["root"].clone()
}

#[test]
fn the_revocation_list_names_each_revoked_token_and_key_and_verifies_with_pyjwt() {
    let (ws, kid) = Workspace::with_key("ES256");
    let kept = ws.mint_acme();
    let revoked = ws.mint_acme();
    let revoked_jti = claims(&revoked)["jti"].as_str().unwrap().to_string();
    ws.covenant(&[
        "revoke",
        &revoked_jti,
        "--reason",
        "partner asked for a new token",
    ])
    .run()
    .ok();

    let list = ws.path("revocations.jws");
    ws.covenant(&["revocations", "--out"])
        .arg(&list)
        .passphrase()
        .run()
        .ok();
    let jws = std::fs::read_to_string(&list).unwrap();
    let header = common::header(jws.trim());
    assert_eq!(header["typ"], "covenant-revocations+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let body = claims(jws.trim());
    assert_eq!(body["iss"], "https://issuer.example.com");
    assert_eq!(body["revoked_tokens"].as_array().unwrap().len(), 1);
    assert_eq!(body["revoked_tokens"][0]["jti"], revoked_jti.as_str());
    assert_eq!(body["revoked_tokens"][0]["kid"], kid.as_str());
    assert_eq!(
        body["revoked_tokens"][0]["reason"],
        "partner asked for a new token"
    );
    assert_eq!(body["revoked_keys"], serde_json::json!([]));
    assert_ne!(claims(&kept)["jti"], body["revoked_tokens"][0]["jti"]);

    // An independent check: PyJWT with the root JWK and nothing else.
    let script = r#"
import json, sys, jwt
root = jwt.PyJWK(json.loads(sys.argv[1]), algorithm="EdDSA")
claims = jwt.decode(sys.argv[2], root.key, algorithms=["EdDSA"])
assert jwt.get_unverified_header(sys.argv[2])["typ"] == "covenant-revocations+jwt"
print(",".join(t["jti"] for t in claims["revoked_tokens"]))
"#;
    let run = |token: &str| {
        Command::new("python3")
            .args(["-c", script, &root_jwk(&ws).to_string(), token])
            .output()
            .expect("python3 runs; `sh tests/run.sh` installs PyJWT")
    };
    let out = run(jws.trim());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), revoked_jti);

    let mut forged = jws.trim().to_string();
    forged.replace_range(forged.len() - 3.., "AAA");
    assert!(
        !run(&forged).status.success(),
        "a changed signature must fail"
    );

    // Revoking the key lists it, and every token it signed.
    ws.covenant(&["key", "revoke", &kid, "--reason", "laptop lost"])
        .run()
        .ok();
    ws.covenant(&["revocations", "--out"])
        .arg(&list)
        .passphrase()
        .run()
        .ok();
    let body = claims(std::fs::read_to_string(&list).unwrap().trim());
    assert_eq!(body["revoked_keys"][0]["kid"], kid.as_str());
    assert_eq!(body["revoked_keys"][0]["reason"], "laptop lost");
    assert_eq!(body["revoked_tokens"].as_array().unwrap().len(), 2);

    let log = ws.covenant(&["log", "--kind", "revocations"]).run();
    assert_eq!(log.ok().lines().count(), 2, "each export is on record");
}
