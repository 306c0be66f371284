//! Interoperability: implementations covenant did not write accept what it
//! makes. For every algorithm, a token minted by covenant is verified by
//! PyJWT, jwcrypto and node's jose with nothing but the JWKS covenant
//! printed, and each refuses the token once its claims are changed. The
//! sealed key file opens with the Debian `age` command, `openssl` reads the
//! PKCS#8 inside, and its public key is the one the JWKS published.
//!
//! The tools are installed by `sh tests/run.sh`. A missing tool fails the
//! test: interoperability that was never checked must not look green.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{AUDIENCE, ISSUER, PASSPHRASE, Workspace, example};
use serde_json::Value;

const INSTALL_HINT: &str = "run `sh tests/run.sh`, which installs the interoperability tools";

fn interop_dir() -> PathBuf {
    common::repo().join("tests/interop")
}

/// Runs a third-party tool, failing the test with the install hint when
/// it cannot be started at all.
fn run_tool(command: &mut Command) -> std::process::Output {
    let program = command.get_program().to_string_lossy().into_owned();
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); {INSTALL_HINT}"))
}

fn require_python_modules() {
    let out = run_tool(Command::new("python3").args(["-c", "import jwt, jwcrypto, cryptography"]));
    assert!(
        out.status.success(),
        "PyJWT, jwcrypto or cryptography is missing ({}); {INSTALL_HINT}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

fn require_node_jose() {
    let jose = interop_dir().join("node_modules/jose/package.json");
    assert!(
        jose.exists(),
        "node jose is not installed in tests/interop; {INSTALL_HINT}"
    );
}

/// A store with one key of `alg`, its JWKS, and a token minted from a
/// contract running now on the real clock, since the third-party
/// verifiers check dates against the real clock.
struct Minted {
    ws: Workspace,
    kid: String,
    jwks: PathBuf,
    token: String,
}

fn mint(alg: &str) -> Minted {
    let now = jiff::Timestamp::now();
    let mut ws = Workspace::new();
    ws.set_now(&now.to_string());
    ws.covenant(&["init", "--policy"])
        .arg(example("policy.toml"))
        .passphrase()
        .run()
        .ok();
    let mut generate = ws.covenant(&["key", "generate", "--alg", alg]);
    if alg.starts_with("RS") || alg.starts_with("PS") {
        generate = generate.args(["--bits", "2048"]);
    }
    let kid = generate.passphrase().run().ok().trim().to_string();

    let today = jiff::tz::Offset::UTC.to_datetime(now).date();
    let start = today.yesterday().unwrap();
    let end = jiff::civil::date(today.year() + 2, today.month(), 1);
    let text = std::fs::read_to_string(example("acme-logistics.toml"))
        .unwrap()
        .replace("start = 2026-12-01", &format!("start = {start}"))
        .replace("end = 2029-12-01", &format!("end = {end}"));
    let contract = ws.write("contract.toml", &text);

    let jwks = ws.path("jwks.json");
    ws.covenant(&["jwks", "--out"]).arg(&jwks).run().ok();
    let token = ws
        .covenant(&["mint"])
        .arg(contract)
        .passphrase()
        .run()
        .ok()
        .trim()
        .to_string();
    Minted {
        ws,
        kid,
        jwks,
        token,
    }
}

/// The same token with a wider scope in its claims and the original
/// signature.
fn tampered(token: &str) -> String {
    let mut claims = common::claims(token);
    claims["scope"] = Value::from("shipments:read shipments:write invoices:read");
    let parts: Vec<_> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// The third-party verifiers, each given the JWKS file, a token file, the
/// issuer and the audience.
fn verifiers() -> Vec<(&'static str, Command)> {
    let python = |library: &str| {
        let mut command = Command::new("python3");
        command.arg(interop_dir().join("verify.py")).arg(library);
        command
    };
    let mut node = Command::new("node");
    node.arg(interop_dir().join("verify.mjs"));
    vec![
        ("PyJWT", python("pyjwt")),
        ("jwcrypto", python("jwcrypto")),
        ("jose", node),
    ]
}

fn verified_by_everyone(alg: &str) {
    require_python_modules();
    require_node_jose();
    let minted = mint(alg);
    let good = minted.ws.write("good.jwt", &minted.token);
    let bad = minted.ws.write("tampered.jwt", &tampered(&minted.token));
    let expected = common::claims(&minted.token);

    for (name, mut command) in verifiers() {
        let out = run_tool(
            command
                .arg(&minted.jwks)
                .arg(&good)
                .args([ISSUER, AUDIENCE])
                .stdin(Stdio::null()),
        );
        assert!(
            out.status.success(),
            "{name} refused a {alg} token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(claims, expected, "{name} read other claims from {alg}");
    }
    for (name, mut command) in verifiers() {
        let out = run_tool(
            command
                .arg(&minted.jwks)
                .arg(&bad)
                .args([ISSUER, AUDIENCE])
                .stdin(Stdio::null()),
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name} did not refuse a tampered {alg} token: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    key_file_opens_with_age_and_matches_the_jwk(&minted);
}

/// Decrypts the key file with `age` on a pseudo-terminal, reads the
/// PKCS#8 with `openssl`, and compares its public half with the JWK.
fn key_file_opens_with_age_and_matches_the_jwk(minted: &Minted) {
    let sealed = minted
        .ws
        .store()
        .join("keys")
        .join(format!("{}.age", minted.kid));
    let der = minted.ws.path("key.der");
    let mut age = Command::new("python3");
    age.arg(interop_dir().join("age_decrypt.py"))
        .arg(&sealed)
        .arg(&der)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = age
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {INSTALL_HINT}"));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{PASSPHRASE}").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "age could not open {}: {}{}; if age is missing, {INSTALL_HINT}",
        sealed.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let text = openssl_text(&der);
    let jwks: Value = serde_json::from_slice(&std::fs::read(&minted.jwks).unwrap()).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == minted.kid.as_str())
        .expect("the JWKS publishes the key");
    let member = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    match jwk["kty"].as_str().unwrap() {
        "EC" => {
            let mut point = vec![0x04];
            point.extend(member("x"));
            point.extend(member("y"));
            assert_eq!(openssl_hex(&text, "pub:"), point);
        }
        "OKP" => assert_eq!(openssl_hex(&text, "pub:"), member("x")),
        "RSA" => {
            assert_eq!(strip_zeros(openssl_hex(&text, "modulus:")), member("n"));
            let exponent = text
                .lines()
                .find_map(|l| l.strip_prefix("publicExponent: "))
                .expect("openssl prints the public exponent");
            let e = member("e")
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            assert!(exponent.starts_with(&format!("{e} ")), "{exponent}");
        }
        other => panic!("unexpected key type {other}"),
    }
}

fn openssl_text(der: &Path) -> String {
    let out = run_tool(
        Command::new("openssl")
            .args(["pkey", "-inform", "DER", "-noout", "-text", "-in"])
            .arg(der),
    );
    assert!(
        out.status.success(),
        "openssl cannot read the PKCS#8 key: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The bytes of a colon-separated hex block that openssl prints under a
/// label such as `pub:` or `modulus:`.
fn openssl_hex(text: &str, label: &str) -> Vec<u8> {
    let hex: String = text
        .lines()
        .skip_while(|l| l.trim() != label)
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .flat_map(|l| l.trim().split(':'))
        .collect();
    assert!(!hex.is_empty(), "openssl printed no {label} block:\n{text}");
    hex::decode(hex).unwrap()
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

#[test]
fn es256_tokens_and_keys_interoperate() {
    verified_by_everyone("ES256");
}

#[test]
fn es384_tokens_and_keys_interoperate() {
    verified_by_everyone("ES384");
}

#[test]
fn eddsa_tokens_and_keys_interoperate() {
    verified_by_everyone("EdDSA");
}

#[test]
fn rs256_tokens_and_keys_interoperate() {
    verified_by_everyone("RS256");
}

#[test]
fn ps256_tokens_and_keys_interoperate() {
    verified_by_everyone("PS256");
}
