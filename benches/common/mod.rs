//! The store every benchmark starts from: the example policy, a root key,
//! and one active ES256 signing key, with the passphrase of both in a
//! private file for the `covenant` processes the benchmarks start.
//!
//! The signing key is sealed with a low scrypt work factor: unlocking it
//! at the usual factor takes about a second and 512 MiB, which would hide
//! the time and memory the benchmarks are there to show.

// Each benchmark is a crate of its own and uses part of this module.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use covenant::algorithm::Algorithm;
use covenant::jwk::Jwk;
use covenant::key::{self, Pkcs8};
use covenant::ledger::{Entry, Event};
use covenant::store::{Access, NewStore, Store};
use jiff::Timestamp;

pub const PASSPHRASE: &str = "benchmark passphrase, not a secret";

/// The scrypt work factor (log2 N) of the fixture's signing key.
const SCRYPT_LOG_N: u8 = 10;

pub struct Fixture {
    pub store_dir: PathBuf,
    /// A 0600 file holding [`PASSPHRASE`].
    pub passphrase_file: PathBuf,
    /// The signing key's public half.
    pub jwk: Jwk,
    /// The root key's fingerprint, which `manifest verify --trust` takes.
    pub root_fingerprint: String,
}

/// Creates `dir/store` and `dir/passphrase`; the key signs from `now`
/// until `signs_until`.
pub fn store_with_key(dir: &Path, now: Timestamp, signs_until: Timestamp) -> Fixture {
    let store_dir = dir.join("store");
    let passphrase_file = dir.join("passphrase");
    std::fs::write(&passphrase_file, PASSPHRASE).unwrap();
    std::fs::set_permissions(&passphrase_file, PermissionsExt::from_mode(0o600)).unwrap();

    let policy_text = std::fs::read_to_string(repo().join("docs/examples/policy.toml")).unwrap();
    let root = Store::create(NewStore {
        dir: &store_dir,
        policy_text,
        root_passphrase: SecretString::from(PASSPHRASE),
        actor: "bench",
        now,
    })
    .unwrap();
    let mut store = Store::open(&store_dir, Access::Write).unwrap();

    let pkcs8 = key::generate(Algorithm::ES256, 0).unwrap();
    let jwk = Jwk::new(
        key::public_key(Algorithm::ES256, &pkcs8).unwrap(),
        Algorithm::ES256,
    );
    store.write_key(&jwk.kid, &seal_cheaply(&pkcs8)).unwrap();
    let events = vec![
        entry(Event::KeyGenerated {
            kid: jwk.kid.clone(),
            alg: Algorithm::ES256,
            jwk: jwk.to_json(),
            custody: "passphrase".into(),
        }),
        entry(Event::KeyActivated {
            kid: jwk.kid.clone(),
            signs_until: signs_until.as_second(),
            publish_limit: None,
        }),
    ];
    store.record(now, events).unwrap();
    // Closed here, so that the `covenant` processes a benchmark starts
    // can take the store's lock.
    drop(store);
    Fixture {
        store_dir,
        passphrase_file,
        jwk,
        root_fingerprint: covenant::root::fingerprint(&root),
    }
}

/// A ledger entry made by the benchmark's actor.
pub fn entry(event: Event) -> Entry {
    Entry {
        actor: "bench".into(),
        event,
    }
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn seal_cheaply(pkcs8: &Pkcs8) -> Vec<u8> {
    use std::io::Write;
    let mut recipient = age::scrypt::Recipient::new(SecretString::from(PASSPHRASE));
    recipient.set_work_factor(SCRYPT_LOG_N);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .unwrap();
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).unwrap();
    writer.write_all(pkcs8.der()).unwrap();
    writer.finish().unwrap();
    out
}
