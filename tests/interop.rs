//! Interoperability: implementations covenant did not write accept what it
//! makes. For every algorithm, a token minted by covenant is verified by
//! PyJWT, jwcrypto and node's jose with nothing but the JWKS covenant
//! printed, and each refuses the token once its claims are changed. The
//! sealed key file opens with the Debian `age` command, `openssl` reads the
//! PKCS#8 inside, and its public key is the one the JWKS published.
//!
//! The other way round, the same libraries sign tokens with the key that
//! `age` took out of the store, and `covenant verify` accepts the
//! well-formed ones and refuses each bad one for its own reason; `openssl`
//! verifies covenant's signatures with the PEM covenant exports; and age
//! files cross between the `age` command and covenant's library in both
//! directions, with a passphrase and with X25519 recipients.
//!
//! The tools are installed by `sh tests/run.sh`. A missing tool fails the
//! test: interoperability that was never checked must not look green.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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
    third_parties("verify")
}

/// PyJWT, jwcrypto and node jose, each running `tests/interop/<script>`
/// (`.py` for the Python libraries, `.mjs` for jose).
fn third_parties(script: &str) -> Vec<(&'static str, Command)> {
    let python = |library: &str| {
        let mut command = Command::new("python3");
        command
            .arg(interop_dir().join(format!("{script}.py")))
            .arg(library);
        command
    };
    let mut node = Command::new("node");
    node.arg(interop_dir().join(format!("{script}.mjs")));
    vec![
        ("PyJWT", python("pyjwt")),
        ("jwcrypto", python("jwcrypto")),
        ("jose", node),
    ]
}

/// Runs every third-party verifier on one token file.
fn verify_with_everyone(jwks: &Path, token: &Path) -> Vec<(&'static str, Output)> {
    verifiers()
        .into_iter()
        .map(|(name, mut command)| {
            let out = run_tool(
                command
                    .arg(jwks)
                    .arg(token)
                    .args([ISSUER, AUDIENCE])
                    .stdin(Stdio::null()),
            );
            (name, out)
        })
        .collect()
}

fn verified_by_everyone(alg: &str) {
    require_python_modules();
    require_node_jose();
    let minted = mint(alg);
    let good = minted.ws.write("good.jwt", &minted.token);
    let bad = minted.ws.write("tampered.jwt", &tampered(&minted.token));
    let expected = common::claims(&minted.token);

    for (name, out) in verify_with_everyone(&minted.jwks, &good) {
        assert!(
            out.status.success(),
            "{name} refused a {alg} token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(claims, expected, "{name} read other claims from {alg}");
    }
    for (name, out) in verify_with_everyone(&minted.jwks, &bad) {
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
    let der = age_decrypt(&minted.ws, &sealed);

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

/// Decrypts an age file sealed with the test passphrase with the `age`
/// command on a pseudo-terminal; returns the path of the clear file.
fn age_decrypt(ws: &Workspace, sealed: &Path) -> PathBuf {
    let der = ws.path("key.der");
    let mut age = Command::new("python3");
    age.arg(interop_dir().join("age_decrypt.py"))
        .arg(sealed)
        .arg(&der);
    pty_script(&mut age, "open", sealed);
    der
}

/// Runs one of the pseudo-terminal scripts, typing the test passphrase
/// on its stdin.
fn pty_script(command: &mut Command, what: &str, file: &Path) {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
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
        "age could not {what} {}: {}{}; if age is missing, {INSTALL_HINT}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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

// Tokens that other libraries sign with a covenant key.
//
// The key is taken out of covenant's store the way an operator could,
// with the `age` command, and handed to PyJWT, jwcrypto and jose. Each
// signs a well-formed token and one token for each mistake or attack;
// `covenant verify`, given only covenant's JWKS, must accept the first and
// refuse each of the others for its own reason.

/// The claims the libraries sign: the ACME Logistics contract's, with
/// `nbf` 2026-12-01 and `exp` 2029-12-01.
fn acme_claims() -> Value {
    serde_json::json!({
        "iss": ISSUER,
        "sub": "acme-logistics",
        "aud": AUDIENCE,
        "iat": 1780272000,
        "nbf": 1796083200,
        "exp": 1890777600,
        "jti": "l2ZkqO7i1o2xvGqIh2n6Pw",
        "scope": "shipments:read invoices:read",
    })
}

/// The algorithm sign.py and sign.mjs put in the `other_alg` token.
fn other_alg(alg: &str) -> &'static str {
    match alg {
        "ES256" => "ES384",
        "ES384" | "EdDSA" => "ES256",
        "RS256" => "PS256",
        "PS256" => "RS256",
        other => panic!("unexpected algorithm {other}"),
    }
}

/// A store with one key of `alg`, its JWKS, its public key as PEM, and
/// its PKCS#8 as the `age` command decrypts it.
struct Exported {
    ws: Workspace,
    kid: String,
    jwks: PathBuf,
    pem: PathBuf,
    der: PathBuf,
}

fn export(alg: &str) -> Exported {
    let (ws, kid) = Workspace::with_key(alg);
    let jwks = ws.path("jwks.json");
    ws.covenant(&["jwks", "--out"]).arg(&jwks).run().ok();
    let pem = ws.path("public.pem");
    ws.covenant(&[
        "key", "export", &kid, "--public", "--format", "pem", "--out",
    ])
    .arg(&pem)
    .run()
    .ok();
    let sealed = ws.store().join("keys").join(format!("{kid}.age"));
    let der = age_decrypt(&ws, &sealed);
    Exported {
        ws,
        kid,
        jwks,
        pem,
        der,
    }
}

fn signers() -> Vec<(&'static str, Command)> {
    third_parties("sign")
}

fn third_party_tokens_are_judged_by_covenant(alg: &str) {
    require_python_modules();
    require_node_jose();
    let mut key = export(alg);
    key.ws.set_now(common::DURING_ACME);
    let claims = acme_claims();
    let claims_file = key.ws.write("claims.json", &claims.to_string());
    let kid = key.kid.as_str();
    let other = other_alg(alg);
    let refusals = [
        ("wrong_kid", format!("kid \"not-{kid}\" is not in the JWKS")),
        (
            "other_alg",
            format!("the header says alg \"{other}\" but key {kid} is an {alg} key"),
        ),
        (
            "hs256_public_key",
            "alg \"HS256\" is symmetric; covenant accepts only asymmetric signatures".into(),
        ),
        ("none", "alg \"none\" means unsigned; refused".into()),
        (
            "expired",
            "the token expired at 2026-12-01T00:00:01Z (it is now 2027-03-15T12:00:00Z)".into(),
        ),
        (
            "crit",
            "the header has a \"crit\" member: it marks extensions as critical, \
             and covenant implements none"
                .into(),
        ),
    ];

    for (library, mut command) in signers() {
        let out = run_tool(
            command
                .arg(&key.der)
                .args([alg, kid])
                .arg(&key.pem)
                .arg(&claims_file)
                .stdin(Stdio::null()),
        );
        assert!(
            out.status.success(),
            "{library} could not sign with a covenant {alg} key: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tokens: Value = serde_json::from_slice(&out.stdout).unwrap();
        let verify = |case: &str| {
            let token = tokens[case].as_str().unwrap();
            let file = key.ws.write("token.jwt", token);
            key.ws
                .covenant(&["verify", "--issuer", ISSUER, "--audience", AUDIENCE])
                .arg("--jwks")
                .arg(&key.jwks)
                .arg(format!("@{}", file.display()))
                .run()
        };

        let good = verify("good");
        assert_eq!(good.code, 0, "{library} {alg} good: {}", good.stderr);
        let read: Value = serde_json::from_str(&good.stdout).unwrap();
        assert_eq!(read, claims, "{library} {alg}: covenant read other claims");
        for (case, reason) in &refusals {
            let run = verify(case);
            assert_eq!(
                (run.code, run.stderr.lines().next().unwrap_or("")),
                (1, format!("covenant: token rejected: {reason}").as_str()),
                "{library} {alg} {case}"
            );
        }
    }
}

#[test]
fn es256_tokens_signed_by_other_libraries_with_a_covenant_key_are_judged_correctly() {
    third_party_tokens_are_judged_by_covenant("ES256");
}

#[test]
fn es384_tokens_signed_by_other_libraries_with_a_covenant_key_are_judged_correctly() {
    third_party_tokens_are_judged_by_covenant("ES384");
}

#[test]
fn eddsa_tokens_signed_by_other_libraries_with_a_covenant_key_are_judged_correctly() {
    third_party_tokens_are_judged_by_covenant("EdDSA");
}

#[test]
fn rs256_tokens_signed_by_other_libraries_with_a_covenant_key_are_judged_correctly() {
    third_party_tokens_are_judged_by_covenant("RS256");
}

#[test]
fn ps256_tokens_signed_by_other_libraries_with_a_covenant_key_are_judged_correctly() {
    third_party_tokens_are_judged_by_covenant("PS256");
}

// openssl verifies covenant's signatures with the PEM that
// `covenant key export --public --format pem` writes.

/// A JWS ECDSA signature, r and s as fixed-size big-endian halves (RFC
/// 7518 section 3.4), as the DER ECDSA-Sig-Value that openssl expects
/// (RFC 3279 section 2.2.3): a SEQUENCE of two positive INTEGERs.
fn ecdsa_jws_to_der(signature: &[u8]) -> Vec<u8> {
    let integer = |half: &[u8]| {
        let zeros = half.iter().take_while(|b| **b == 0).count();
        let mut body = half[zeros..].to_vec();
        if body.first().is_none_or(|b| b & 0x80 != 0) {
            body.insert(0, 0);
        }
        let mut out = vec![0x02, body.len() as u8];
        out.extend(body);
        out
    };
    let (r, s) = signature.split_at(signature.len() / 2);
    let body = [integer(r), integer(s)].concat();
    // P-384's largest signature is 2 * (2 + 49) bytes, within DER's short
    // length form.
    assert!(body.len() < 0x80);
    [vec![0x30, body.len() as u8], body].concat()
}

/// Runs openssl on a covenant token's signing input and signature;
/// returns whether openssl said "Verified OK".
fn openssl_verifies(ws: &Workspace, alg: &str, pem: &Path, input: &[u8], sig: &[u8]) -> bool {
    let input_file = ws.path("signing-input");
    let sig_file = ws.path("signature");
    std::fs::write(&input_file, input).unwrap();
    let sig = if alg.starts_with("ES") {
        ecdsa_jws_to_der(sig)
    } else {
        sig.to_vec()
    };
    std::fs::write(&sig_file, sig).unwrap();

    let mut command = Command::new("openssl");
    match alg {
        "EdDSA" => {
            // Ed25519 signs the message itself, not a digest of it.
            command.args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"]);
            command.arg(pem).arg("-in").arg(&input_file);
            command.arg("-sigfile").arg(&sig_file);
        }
        _ => {
            let digest = if alg == "ES384" { "-sha384" } else { "-sha256" };
            command.args(["dgst", digest, "-verify"]).arg(pem);
            if alg == "PS256" {
                // RFC 7518 section 3.5: MGF1 with SHA-256 and a salt as
                // long as the hash.
                command.args(["-sigopt", "rsa_padding_mode:pss"]);
                command.args(["-sigopt", "rsa_pss_saltlen:32"]);
            }
            command.arg("-signature").arg(&sig_file).arg(&input_file);
        }
    }
    let out = run_tool(&mut command);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.success(),
        said.contains("Verified") && !said.contains("Failure"),
        "openssl's status and words disagree: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.success()
}

fn openssl_verifies_a_covenant_signature(alg: &str) {
    let (ws, kid) = Workspace::with_key(alg);
    let pem = ws.path("public.pem");
    ws.covenant(&[
        "key", "export", &kid, "--public", "--format", "pem", "--out",
    ])
    .arg(&pem)
    .run()
    .ok();
    let token = ws.mint_acme();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();

    assert!(
        openssl_verifies(&ws, alg, &pem, input.as_bytes(), &signature),
        "openssl refused covenant's {alg} signature"
    );
    let last = signature.len() - 1;
    signature[last] ^= 1;
    assert!(
        !openssl_verifies(&ws, alg, &pem, input.as_bytes(), &signature),
        "openssl accepted a {alg} signature with a flipped bit"
    );
}

#[test]
fn openssl_verifies_a_covenant_es256_signature_with_the_exported_pem() {
    openssl_verifies_a_covenant_signature("ES256");
}

#[test]
fn openssl_verifies_a_covenant_es384_signature_with_the_exported_pem() {
    openssl_verifies_a_covenant_signature("ES384");
}

#[test]
fn openssl_verifies_a_covenant_eddsa_signature_with_the_exported_pem() {
    openssl_verifies_a_covenant_signature("EdDSA");
}

#[test]
fn openssl_verifies_a_covenant_rs256_signature_with_the_exported_pem() {
    openssl_verifies_a_covenant_signature("RS256");
}

#[test]
fn openssl_verifies_a_covenant_ps256_signature_with_the_exported_pem() {
    openssl_verifies_a_covenant_signature("PS256");
}

// age files cross between the Debian `age` command and covenant, both
// ways. covenant-sealed files under a passphrase are opened by `age` in
// the tests above; here `age` seals and covenant's library opens, and
// covenant seals to X25519 recipients and `age` opens.

/// Runs a command that must succeed; returns its stdout.
fn succeeds(command: &mut Command) -> Vec<u8> {
    let out = run_tool(command);
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        command.get_program(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An Ed25519 PKCS#8 key that openssl generated, and its public key as
/// openssl writes it in PEM.
fn openssl_ed25519_key(ws: &Workspace) -> (Vec<u8>, String) {
    let der = ws.path("openssl.der");
    succeeds(
        Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "ed25519",
                "-outform",
                "DER",
                "-out",
            ])
            .arg(&der),
    );
    let pem = succeeds(
        Command::new("openssl")
            .args(["pkey", "-inform", "DER", "-pubout", "-in"])
            .arg(&der),
    );
    (
        std::fs::read(&der).unwrap(),
        String::from_utf8(pem).unwrap(),
    )
}

/// The public key of a PKCS#8 Ed25519 key read through covenant, as PEM.
fn covenant_public_pem(pkcs8: &covenant::key::Pkcs8) -> String {
    let public = covenant::key::public_key(covenant::algorithm::Algorithm::EdDSA, pkcs8).unwrap();
    public.to_spki_pem()
}

/// A new age X25519 identity file from `age-keygen`, and its recipient.
fn age_keygen(ws: &Workspace) -> (PathBuf, String) {
    let identity = ws.path("identity.txt");
    succeeds(Command::new("age-keygen").arg("-o").arg(&identity));
    let recipient = succeeds(Command::new("age-keygen").arg("-y").arg(&identity));
    (
        identity,
        String::from_utf8(recipient).unwrap().trim().to_string(),
    )
}

#[test]
fn a_key_the_age_command_sealed_with_a_passphrase_opens_with_covenants_library() {
    let ws = Workspace::new();
    let (der, openssl_pem) = openssl_ed25519_key(&ws);
    let sealed = ws.path("key.age");
    let mut age = Command::new("python3");
    age.arg(interop_dir().join("age_encrypt.py"))
        .arg(ws.path("openssl.der"))
        .arg(&sealed);
    pty_script(&mut age, "seal", &sealed);
    let bytes = std::fs::read(&sealed).unwrap();

    // age's default work factor, not the tests' cheap one: this is the
    // file an operator's `age -p` writes.
    let pkcs8 = covenant::key::unseal_with_passphrase(&bytes, PASSPHRASE.to_string().into())
        .expect("covenant opens the file age sealed");
    assert_eq!(pkcs8.der(), der);
    assert_eq!(covenant_public_pem(&pkcs8), openssl_pem);

    let wrong = covenant::key::unseal_with_passphrase(&bytes, "not the passphrase".into());
    assert!(matches!(
        wrong,
        Err(covenant::key::UnsealError::WrongSecret)
    ));
}

#[test]
fn a_key_the_age_command_sealed_to_an_x25519_recipient_opens_with_covenants_library() {
    let ws = Workspace::new();
    let (der, openssl_pem) = openssl_ed25519_key(&ws);
    let (identity_file, recipient) = age_keygen(&ws);
    let sealed = ws.path("key.age");
    succeeds(
        Command::new("age")
            .args(["--recipient", &recipient, "--output"])
            .arg(&sealed)
            .arg(ws.path("openssl.der")),
    );
    let bytes = std::fs::read(&sealed).unwrap();

    let text = std::fs::read_to_string(&identity_file).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    let identity: age::x25519::Identity = line.parse().unwrap();
    let pkcs8 = covenant::key::unseal(&bytes, &identity).expect("covenant opens the file");
    assert_eq!(pkcs8.der(), der);
    assert_eq!(covenant_public_pem(&pkcs8), openssl_pem);

    let stranger = age::x25519::Identity::generate();
    let refused = covenant::key::unseal(&bytes, &stranger);
    assert!(matches!(
        refused,
        Err(covenant::key::UnsealError::WrongSecret)
    ));
}

#[test]
fn a_key_covenant_rewrapped_to_an_x25519_recipient_opens_with_the_age_command() {
    let (ws, kid) = Workspace::with_key("ES256");
    let (identity, recipient) = age_keygen(&ws);
    ws.covenant(&["key", "rewrap", &kid, "--recipient", &recipient])
        .passphrase()
        .run()
        .ok();
    let exported = ws
        .covenant(&["key", "export", &kid, "--public", "--format", "pem"])
        .run()
        .ok()
        .to_string();

    let der = ws.path("key.der");
    succeeds(
        Command::new("age")
            .args(["--decrypt", "--identity"])
            .arg(&identity)
            .arg("--output")
            .arg(&der)
            .arg(ws.store().join("keys").join(format!("{kid}.age"))),
    );
    let public = succeeds(
        Command::new("openssl")
            .args(["pkey", "-inform", "DER", "-pubout", "-in"])
            .arg(&der),
    );
    assert_eq!(String::from_utf8(public).unwrap(), exported);
}
