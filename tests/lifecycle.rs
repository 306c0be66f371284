//! One store through six simulated years of key ceremonies.
//!
//! The clock moves with COVENANT_TEST_NOW. Along the way: a key is
//! pre-published and rotated to, a second rotation generates its key on the
//! spot, a token is revoked, a key is compromised and revoked, keys are
//! destroyed, and a key is rewrapped to age X25519 recipients. At every
//! step the JWKS must hold exactly the keys that still sign or still have
//! live tokens, and every token minted so far must verify or fail as its
//! state says, both with `covenant verify` and with PyJWT, which shares no
//! code with covenant. Every refusal is checked for its message and exit
//! code.
//!
//! Needs python3 with PyJWT and cryptography, the `age` command and
//! `openssl`; the test fails, never skips, when one is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jiff::Timestamp;
use serde_json::Value;

const ISSUER: &str = "https://issuer.example.com";
const AUDIENCE: &str = "https://api.example.com/partners";
const LEEWAY: i64 = 60;

const POLICY: &str = r#"
issuer = "https://issuer.example.com"

[policy]
algorithms = ["ES256", "EdDSA"]
max_token_lifetime = "5y"
key_signing_period = "1y"
key_max_lifetime = "4y"
leeway = "60s"
audiences = ["https://api.example.com/partners"]
scopes = ["shipments:read", "invoices:read"]
"#;

/// A token minted during the scenario, and what the test knows of it.
struct Minted {
    jti: String,
    kid: String,
    path: PathBuf,
    exp: Timestamp,
    revoked: bool,
}

struct Ceremony {
    dir: tempfile::TempDir,
    now: String,
    tokens: Vec<Minted>,
}

impl Ceremony {
    fn new(now: &str) -> Ceremony {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("passphrase"),
            "officer passphrase, test only\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
        let c = Ceremony {
            dir,
            now: now.to_string(),
            tokens: Vec::new(),
        };
        c.ok(&[
            "init",
            "--policy",
            &c.file("policy.toml"),
            "--passphrase-file",
            &c.pass(),
        ]);
        c
    }

    fn at(&mut self, now: &str) {
        self.now = now.to_string();
    }

    fn now(&self) -> Timestamp {
        self.now.parse().unwrap()
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn pass(&self) -> String {
        self.file("passphrase")
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_covenant"))
            .args(args)
            .env("COVENANT_STORE", self.store())
            .env("COVENANT_ACTOR", "officer-a")
            .env("COVENANT_TEST_NOW", &self.now)
            .env("COVENANT_TEST_SCRYPT_LOG_N", "2")
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "at {}: covenant {args:?} failed: {}",
            self.now,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    /// Runs a command that must be refused with `code` and a message
    /// containing `says`, and returns the message.
    fn refused(&self, args: &[&str], code: i32, says: &str) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "at {}: covenant {args:?}: {err}",
            self.now
        );
        assert!(
            err.contains(says),
            "at {}: expected {says:?} in: {err}",
            self.now
        );
        err
    }

    fn contract(&self, id: &str, start: &str, end: &str) -> String {
        let path = self.file(&format!("{id}.toml"));
        let text = format!(
            "[contract]\nid = \"{id}\"\npartner = \"{}\"\nstart = {start}\nend = {end}\n\n\
             [token]\naudience = \"{AUDIENCE}\"\nscopes = [\"shipments:read\"]\n",
            id.to_lowercase()
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Mints a token for a new contract and returns its jti.
    fn mint(&mut self, id: &str, start: &str, end: &str, unlock: &[&str]) -> String {
        let contract = self.contract(id, start, end);
        let out = self.file(&format!("{id}.jwt"));
        let mut args = vec!["mint", &contract, "--out", &out, "--json"];
        args.extend(unlock);
        let summary = self.json(&args);
        let jti = summary["jti"].as_str().unwrap().to_string();
        self.tokens.push(Minted {
            jti: jti.clone(),
            kid: summary["kid"].as_str().unwrap().to_string(),
            path: out.into(),
            exp: Timestamp::from_second(summary["exp"].as_i64().unwrap()).unwrap(),
            revoked: false,
        });
        jti
    }

    fn revoked(&mut self, pred: impl Fn(&Minted) -> bool) {
        for t in self.tokens.iter_mut().filter(|t| pred(t)) {
            t.revoked = true;
        }
    }

    fn kid_of(&self, jti: &str) -> String {
        self.tokens
            .iter()
            .find(|t| t.jti == jti)
            .unwrap()
            .kid
            .clone()
    }

    /// Checks the JWKS and every token, with covenant and with PyJWT, and
    /// returns `covenant status --json`.
    fn check(&self, jwks: &[&str]) -> Value {
        let jwks_file = self.file("jwks.json");
        std::fs::remove_file(&jwks_file).ok();
        self.ok(&["jwks", "--out", &jwks_file]);
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&jwks_file).unwrap()).unwrap();
        let published: BTreeSet<String> = doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect();
        let expected: BTreeSet<String> = jwks.iter().map(|k| k.to_string()).collect();
        assert_eq!(published, expected, "at {}: the JWKS", self.now);

        let independent = self.pyjwt(&jwks_file);
        for t in &self.tokens {
            let (want, says) = self.expected(t, &expected);
            assert_eq!(
                independent[&t.jti].as_str(),
                Some(want),
                "at {}: PyJWT on token {}",
                self.now,
                t.jti
            );
            let token = format!("@{}", t.path.display());
            for extra in [&[][..], &["--jwks", &jwks_file][..]] {
                let mut args = vec!["verify", &token, "--audience", AUDIENCE];
                args.extend(extra);
                match says {
                    None => {
                        self.ok(&args);
                    }
                    Some(says) => {
                        self.refused(&args, 1, says);
                    }
                }
            }
        }
        self.json(&["status", "--json"])
    }

    /// What a verifier must answer for `t` now: PyJWT's word, and the part
    /// of covenant's message (None when it must accept).
    fn expected(
        &self,
        t: &Minted,
        jwks: &BTreeSet<String>,
    ) -> (&'static str, Option<&'static str>) {
        let expired = self.now().as_second() > t.exp.as_second() + LEEWAY;
        if t.revoked {
            ("revoked", Some("revoked"))
        } else if !expired {
            ("valid", None)
        } else if jwks.contains(&t.kid) {
            ("expired", Some("expired"))
        } else {
            ("no-key", Some("is not in the JWKS"))
        }
    }

    fn pyjwt(&self, jwks_file: &str) -> Value {
        let tokens: BTreeMap<&str, String> = self
            .tokens
            .iter()
            .map(|t| {
                (
                    t.jti.as_str(),
                    std::fs::read_to_string(&t.path).unwrap().trim().to_string(),
                )
            })
            .collect();
        let tokens_file = self.file("tokens.json");
        std::fs::write(&tokens_file, serde_json::to_string(&tokens).unwrap()).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lifecycle_verify.py");
        let ledger = self.store().join("ledger.jsonl");
        let out = Command::new("python3")
            .arg(script)
            .args([
                jwks_file,
                ledger.to_str().unwrap(),
                &self.now,
                ISSUER,
                AUDIENCE,
                "60",
                &tokens_file,
            ])
            .output()
            .expect("python3 is needed for the independent check; install it");
        assert!(
            out.status.success(),
            "PyJWT check failed (pip install PyJWT cryptography if missing): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn due(status: &Value) -> Vec<(String, String)> {
    status["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["what"].as_str().unwrap().to_string(),
                d["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has_due(status: &Value, what: &str, subject: &str) -> bool {
    due(status).contains(&(what.to_string(), subject.to_string()))
}

fn signer(status: &Value) -> Option<String> {
    status["signer"]["kid"].as_str().map(str::to_string)
}

#[test]
fn six_years_of_key_lifecycle() {
    // Year 0: the first key signs two partners' tokens.
    let mut c = Ceremony::new("2026-12-01T00:00:00Z");
    let k1 = c
        .ok(&["key", "generate", "--passphrase-file", &c.pass()])
        .trim()
        .to_string();
    let pass = c.pass();
    let acme = c.mint(
        "ACME",
        "2026-12-01",
        "2029-12-01",
        &["--passphrase-file", &pass],
    );
    c.mint(
        "GLOBEX",
        "2026-12-01",
        "2028-06-01",
        &["--passphrase-file", &pass],
    );
    // key_max_lifetime = 4y: k1 may stay published until 2030-12-01.
    let long = c.contract("LONG", "2026-12-01", "2031-06-01");
    c.refused(
        &["mint", &long, "--passphrase-file", &pass],
        2,
        "may stay published only until 2030-12-01",
    );
    let s = c.check(&[&k1]);
    assert_eq!(signer(&s).as_deref(), Some(k1.as_str()));
    assert_eq!(s["signer"]["signs_until"], "2027-12-01T00:00:00Z");
    assert!(
        has_due(&s, "prepublish", &k1) && has_due(&s, "rotate", &k1),
        "{s}"
    );
    let ics = c.ok(&["status", "--calendar"]);
    for uid in [format!("rotate.{k1}"), format!("token_expires.{acme}")] {
        assert!(
            ics.contains(&format!("\r\nUID:{uid}@covenant\r\n")),
            "{ics}"
        );
    }
    assert!(ics.contains("DTSTART:20271201T000000Z\r\n"), "{ics}");
    // Every content line ends in CRLF and is folded to 75 octets.
    let lines: Vec<&str> = ics.strip_suffix("\r\n").unwrap().split("\r\n").collect();
    assert!(
        lines.iter().all(|l| !l.contains('\n') && l.len() <= 75),
        "{ics}"
    );

    // A month before the rotation, the next key is published.
    c.at("2027-11-01T00:00:00Z");
    let k2 = c
        .ok(&["key", "generate", "--next", "--passphrase-file", &pass])
        .trim()
        .to_string();
    let s = c.check(&[&k1, &k2]);
    assert_eq!(s["next"]["kid"], k2.as_str());
    assert!(!has_due(&s, "prepublish", &k1), "{s}");

    // First rotation: the pre-published key signs; no passphrase is needed
    // because nothing is generated.
    c.at("2027-11-30T00:00:00Z");
    let rotated = c.ok(&["key", "rotate"]);
    assert_eq!(rotated.trim(), k2);
    let beta = c.mint(
        "BETA",
        "2027-11-30",
        "2030-06-01",
        &["--passphrase-file", &pass],
    );
    assert_eq!(c.kid_of(&beta), k2);
    let s = c.check(&[&k1, &k2]);
    assert_eq!(signer(&s).as_deref(), Some(k2.as_str()));
    assert!(has_due(&s, "leave_jwks", &k1), "{s}");

    // A partner's contract is terminated: its token is revoked.
    c.at("2028-03-01T00:00:00Z");
    c.ok(&["revoke", &beta, "--reason", "contract BETA terminated"]);
    c.revoked(|t| t.jti == beta);
    c.refused(
        &["revoke", &beta, "--reason", "again"],
        2,
        "already revoked",
    );
    c.refused(
        &["revoke", "no-such-jti", "--reason", "x"],
        2,
        "no token with jti no-such-jti",
    );
    c.check(&[&k1, &k2]);

    // GLOBEX's token expires on schedule.
    c.at("2028-06-02T00:00:00Z");
    c.check(&[&k1, &k2]);

    // Year 2: k2's period has ended without a rotation. Minting is refused
    // until the second rotation, which generates a key on the spot.
    c.at("2028-12-01T00:00:00Z");
    let gamma = c.contract("GAMMA", "2028-12-01", "2031-12-01");
    c.refused(
        &["mint", &gamma, "--passphrase-file", &pass],
        2,
        "signing period ended at 2028-11-30T00:00:00Z; run `covenant key rotate`",
    );
    // k2's only token was revoked, so k2 has left the JWKS already.
    let s = c.check(&[&k1]);
    assert_eq!(s["signer"], Value::Null);
    assert!(has_due(&s, "rotate", &k2), "{s}");
    assert!(has_due(&s, "destroy", &k2), "{s}");
    c.refused(
        &[
            "key",
            "rotate",
            "--alg",
            "RS256",
            "--passphrase-file",
            &pass,
        ],
        2,
        "the policy does not allow RS256 keys",
    );
    let k3 = c
        .ok(&[
            "key",
            "rotate",
            "--alg",
            "EdDSA",
            "--passphrase-file",
            &pass,
        ])
        .trim()
        .to_string();
    let gamma_jti = c.mint(
        "GAMMA",
        "2028-12-01",
        "2031-12-01",
        &["--passphrase-file", &pass],
    );
    let delta = c.mint(
        "DELTA",
        "2028-12-01",
        "2030-12-01",
        &["--passphrase-file", &pass],
    );
    assert_eq!(c.kid_of(&gamma_jti), k3);
    c.check(&[&k1, &k3]);

    // k3 is compromised: it leaves the JWKS at once and both its tokens are
    // listed as revoked.
    c.at("2029-06-01T00:00:00Z");
    c.refused(&["key", "revoke", &k3], 2, "--reason");
    let listed = c.ok(&["key", "revoke", &k3, "--reason", "signing laptop stolen"]);
    assert!(
        listed.contains(&gamma_jti) && listed.contains(&delta),
        "{listed}"
    );
    c.revoked(|t| t.kid == k3);
    c.refused(
        &["key", "revoke", &k3, "--reason", "again"],
        2,
        "already revoked",
    );
    let echo = c.contract("ECHO", "2029-06-01", "2032-06-01");
    c.refused(
        &["mint", &echo, "--passphrase-file", &pass],
        2,
        "it was revoked at 2029-06-01T00:00:00Z (signing laptop stolen); run `covenant key rotate`",
    );
    let s = c.check(&[&k1]);
    assert!(has_due(&s, "destroy", &k3), "{s}");

    // Third rotation, then the new key is rewrapped to two officers' age
    // identities; either can unlock it, the passphrase no longer can.
    let k4 = c
        .ok(&[
            "key",
            "rotate",
            "--alg",
            "ES256",
            "--passphrase-file",
            &pass,
        ])
        .trim()
        .to_string();
    let (officer1, recipients) = officers(&c);
    c.ok(&[
        "key",
        "rewrap",
        &k4,
        "--passphrase-file",
        &pass,
        "--recipients-file",
        &recipients,
    ]);
    c.refused(
        &["mint", &echo, "--passphrase-file", &pass],
        2,
        "sealed to age X25519 recipients; give --identity FILE",
    );
    check_custody_with_age_and_openssl(&c, &k4, &officer1);
    let echo_jti = c.mint(
        "ECHO",
        "2029-06-01",
        "2032-06-01",
        &["--identity", &officer1],
    );
    assert_eq!(c.kid_of(&echo_jti), k4);
    c.check(&[&k1, &k4]);

    // k1 still has ACME's live token: destroying it is refused.
    c.at("2029-09-01T00:00:00Z");
    c.refused(
        &["key", "destroy", &k1],
        2,
        "1 token(s) it signed are valid until 2029-12-01T00:00:00Z",
    );
    c.refused(&["key", "destroy", &k4], 2, "it is the signer");
    c.check(&[&k1, &k4]);

    // Year 3: ACME's token has expired, k1 has left the JWKS, and the keys
    // that are no longer needed are destroyed.
    c.at("2030-01-01T00:00:00Z");
    let s = c.check(&[&k4]);
    assert!(has_due(&s, "destroy", &k1), "{s}");
    for kid in [&k1, &k2, &k3] {
        c.ok(&["key", "destroy", kid]);
        assert!(!c.store().join("keys").join(format!("{kid}.age")).exists());
    }
    c.refused(&["key", "destroy", &k1], 2, "already destroyed");
    let s = c.check(&[&k4]);
    assert!(!due(&s).iter().any(|(what, _)| what == "destroy"), "{s}");
    let keys = c.json(&["key", "list", "--json"]);
    let states: Vec<_> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["destroyed", "destroyed", "revoked", "active"]);
    // The public half survives destruction.
    c.ok(&["key", "export", &k1, "--public", "--format", "jwk"]);

    // Year 3.5 to 6: the next key is pre-published and rotated to on time.
    c.at("2030-05-01T00:00:00Z");
    let k5 = c
        .ok(&["key", "generate", "--next", "--passphrase-file", &pass])
        .trim()
        .to_string();
    c.check(&[&k4, &k5]);
    c.at("2030-05-31T00:00:00Z");
    c.ok(&["key", "rotate"]);
    let s = c.check(&[&k4, &k5]);
    assert_eq!(signer(&s).as_deref(), Some(k5.as_str()));
    assert!(has_due(&s, "leave_jwks", &k4), "{s}");

    c.at("2032-12-01T00:00:00Z");
    let s = c.check(&[]);
    assert_eq!(s["signer"], Value::Null);
    assert!(
        has_due(&s, "rotate", &k5) && has_due(&s, "destroy", &k4),
        "{s}"
    );
    assert_eq!(s["tokens_expiring"].as_array().unwrap().len(), 0);
}

/// Two officers' age identities, and a recipients file naming both.
fn officers(c: &Ceremony) -> (String, String) {
    let mut recipients = String::from("# custody officers\n");
    for name in ["officer1", "officer2"] {
        let path = c.file(&format!("{name}.txt"));
        let out = Command::new("age-keygen")
            .args(["-o", &path])
            .output()
            .expect("the age command is needed (apt-get install -y age)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let public = text
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap();
        recipients.push_str(public);
        recipients.push('\n');
    }
    let file = c.file("recipients.txt");
    std::fs::write(&file, recipients).unwrap();
    (c.file("officer1.txt"), file)
}

/// The Debian `age` decrypts the rewrapped key with one officer's identity,
/// and OpenSSL reads the result as the private half of the exported public
/// key.
fn check_custody_with_age_and_openssl(c: &Ceremony, kid: &str, identity: &str) {
    let sealed = c.store().join("keys").join(format!("{kid}.age"));
    let der = c.file("k4.der");
    let out = Command::new("age")
        .args(["-d", "-i", identity, "-o", &der])
        .arg(&sealed)
        .output()
        .expect("the age command is needed (apt-get install -y age)");
    assert!(
        out.status.success(),
        "age -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_private = Command::new("openssl")
        .args(["pkey", "-inform", "DER", "-in", &der, "-pubout"])
        .output()
        .expect("openssl is needed");
    assert!(
        from_private.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&from_private.stderr)
    );
    std::fs::remove_file(&der).unwrap();
    let exported = c.ok(&["key", "export", kid, "--public", "--format", "pem"]);
    assert_eq!(String::from_utf8(from_private.stdout).unwrap(), exported);
}

#[test]
fn each_refusal_names_the_problem_and_exits_2() {
    let mut c = Ceremony::new("2026-12-01T00:00:00Z");
    let pass = c.pass();
    let k1 = c
        .ok(&["key", "generate", "--passphrase-file", &pass])
        .trim()
        .to_string();
    c.refused(
        &["key", "revoke", "NOKEY", "--reason", "x"],
        2,
        "no key NOKEY in the store",
    );
    // Key ids and jtis are base64url: one starting with `-` is an argument,
    // not an option.
    c.refused(
        &["key", "destroy", "-NOKEY", "--force", "--reason", "x"],
        2,
        "no key -NOKEY in the store",
    );
    c.refused(
        &["revoke", "-NOJTI", "--reason", "x"],
        2,
        "no token with jti -NOJTI",
    );
    c.refused(&["key", "export", &k1, "--format", "pem"], 2, "--public");
    c.refused(
        &[
            "mint",
            &c.contract("A", "2026-12-01", "2027-12-01"),
            "--identity",
            &pass,
        ],
        2,
        "sealed with a passphrase, not to age recipients; drop --identity",
    );

    // A pre-published key of another algorithm is not passed over.
    let next = c
        .ok(&[
            "key",
            "generate",
            "--next",
            "--alg",
            "EdDSA",
            "--passphrase-file",
            &pass,
        ])
        .trim()
        .to_string();
    c.refused(
        &["key", "rotate", "--alg", "ES256"],
        2,
        "is EdDSA, not ES256; rotate with --alg EdDSA",
    );

    // Retiring by hand stops minting until a rotation.
    c.mint(
        "A",
        "2026-12-01",
        "2027-12-01",
        &["--passphrase-file", &pass],
    );
    c.ok(&["key", "retire", &k1, "--reason", "early retirement drill"]);
    c.refused(&["key", "retire", &k1], 2, "only the signer can be retired");
    c.refused(
        &[
            "mint",
            &c.contract("B", "2026-12-01", "2027-12-01"),
            "--passphrase-file",
            &pass,
        ],
        2,
        "it was retired at 2026-12-01T00:00:00Z; run `covenant key rotate`",
    );

    // Destroying a key whose token is live needs --force and a reason; the
    // token stays valid, since verifying needs only the public half.
    c.refused(&["key", "destroy", &k1, "--force"], 2, "--reason");
    c.refused(
        &["key", "destroy", &k1],
        2,
        "Revoke them, wait, or give --force",
    );
    c.ok(&[
        "key",
        "destroy",
        &k1,
        "--force",
        "--reason",
        "drill: custody box retired",
    ]);
    let s = c.check(&[&k1, &next]);
    assert_eq!(s["signer"], Value::Null);

    // A key sealed to recipients refuses an identity that is not one of them.
    let k2 = c.ok(&["key", "rotate"]).trim().to_string();
    assert_eq!(k2, next);
    let (_, recipients) = officers(&c);
    c.ok(&[
        "key",
        "rewrap",
        &k2,
        "--passphrase-file",
        &pass,
        "--recipients-file",
        &recipients,
    ]);
    let stranger = c.file("stranger.txt");
    let out = Command::new("age-keygen")
        .args(["-o", &stranger])
        .output()
        .unwrap();
    assert!(out.status.success());
    c.refused(
        &[
            "mint",
            &c.contract("C", "2026-12-01", "2027-12-01"),
            "--identity",
            &stranger,
        ],
        2,
        "no identity in",
    );
    // And back to a passphrase, unlocked by an officer's identity.
    let officer = c.file("officer2.txt");
    c.ok(&[
        "key",
        "rewrap",
        &k2,
        "--identity",
        &officer,
        "--new-passphrase-file",
        &pass,
    ]);
    c.mint(
        "C",
        "2026-12-01",
        "2027-12-01",
        &["--passphrase-file", &pass],
    );
}

/// A record that breaks the lifecycle rules, correctly chained (as a
/// tool other than covenant could write it), is refused by the state fold,
/// which names the record; every command then refuses to use the store.
#[test]
fn a_ledger_that_activates_a_destroyed_key_is_refused_with_its_record() {
    use covenant::ledger::{self, Entry, Event};

    let c = Ceremony::new("2026-12-01T00:00:00Z");
    let pass = c.pass();
    let k1 = c
        .ok(&["key", "generate", "--next", "--passphrase-file", &pass])
        .trim()
        .to_string();
    c.ok(&["key", "destroy", &k1]);
    let path = ledger::path_in(&c.store());
    let (_, head) = covenant::state::load(&path).unwrap();
    let time = "2026-12-01T00:00:00Z".parse().unwrap();
    let forged = Entry {
        actor: "not-covenant".into(),
        event: Event::KeyActivated {
            kid: k1.clone(),
            signs_until: 1_900_000_000,
            publish_limit: None,
        },
    };
    ledger::append(&path, &head, time, vec![forged]).unwrap();
    c.refused(
        &["status"],
        1,
        &format!(
            "record {}: the record activates key {k1}, which was destroyed at record {}",
            head.next_seq,
            head.next_seq - 1
        ),
    );
}
