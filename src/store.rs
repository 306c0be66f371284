//! The store: one directory holding the policy, the sealed keys and the
//! ledger.
//!
//! ```text
//! covenant-store/          0700
//!   covenant.toml          the policy
//!   ledger.jsonl           the audit ledger (the source of truth for state)
//!   root.age               the root key, sealed; signs manifests only
//!   keys/<kid>.age         each signing key, sealed
//!   .lock                  held by the process working on the store
//! ```
//!
//! A new store is assembled in a temporary directory beside its destination
//! and renamed into place, so a store either exists whole or not at all.
//! Commands that change a store hold an exclusive lock on `.lock`; a second
//! process waits for it and says so.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use jiff::Timestamp;
use ring::digest;

use crate::algorithm::Algorithm;
use crate::custody::Unlock;
use crate::error::{Error, Result};
use crate::file::{self, Overwrite};
use crate::jwk::Jwk;
use crate::key::{self, Custody, SigningKey};
use crate::ledger::{self, Entry, Event, Head};
use crate::policy::{self, Policy};
use crate::state::{self, State};

mod health;
mod keys;

pub use health::{CheckedFile, KeyFileState};

const KEYS_DIR: &str = "keys";
const ROOT_KEY_FILE: &str = "root.age";
const LOCK_FILE: &str = ".lock";

/// The parts of a complete store, which `open` requires.
const PARTS: &[&str] = &[
    policy::FILE_NAME,
    ledger::FILE_NAME,
    KEYS_DIR,
    ROOT_KEY_FILE,
];

/// The parts a store cannot be read without, which `inspect` requires.
const READABLE_PARTS: &[&str] = &[policy::FILE_NAME, ledger::FILE_NAME, KEYS_DIR];

/// An open store, with its policy read and its ledger replayed.
pub struct Store {
    dir: PathBuf,
    pub policy: Policy,
    pub policy_sha256: String,
    policy_text: String,
    pub state: State,
    head: Head,
    /// Held for as long as the store is open for writing.
    _lock: Option<File>,
}

/// What a new store starts from.
pub struct NewStore<'a> {
    pub dir: &'a Path,
    /// The policy file's text.
    pub policy_text: String,
    pub root_passphrase: SecretString,
    pub actor: &'a str,
    pub now: Timestamp,
}

/// Whether a command will change the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Store {
    /// Creates a store with its policy, root key and first ledger record.
    /// Returns the root key's public JWK.
    pub fn create(new: NewStore<'_>) -> Result<Jwk> {
        let dir = new.dir;
        if dir.join(ledger::FILE_NAME).exists() || dir.join(policy::FILE_NAME).exists() {
            return Err(Error::StoreExists {
                path: dir.to_path_buf(),
            });
        }
        if let Ok(mut entries) = fs::read_dir(dir)
            && entries.next().is_some()
        {
            return Err(Error::StoreInvalid {
                path: dir.to_path_buf(),
                reason: "the directory exists and is not empty; choose a new path for the store"
                    .into(),
            });
        }
        let policy_path = dir.join(policy::FILE_NAME);
        let policy = Policy::parse(&policy_path, &new.policy_text)?;

        let root_pkcs8 = key::generate(Algorithm::EdDSA, 0).map_err(Error::Usage)?;
        let root = Jwk::new(
            key::public_key(Algorithm::EdDSA, &root_pkcs8).map_err(Error::Usage)?,
            Algorithm::EdDSA,
        );
        let sealed_root = key::seal(&root_pkcs8, Custody::Passphrase(new.root_passphrase))
            .map_err(Error::Usage)?;
        let genesis = ledger::genesis(
            new.now,
            vec![Entry {
                actor: new.actor.to_string(),
                event: Event::StoreCreated {
                    issuer: policy.issuer.clone(),
                    policy_sha256: sha256_hex(new.policy_text.as_bytes()),
                    policy: new.policy_text.clone(),
                    root: root.to_json(),
                },
            }],
        );

        // Assemble beside the destination, then rename into place.
        let parent = file::parent_of(dir);
        let staging = tempfile::Builder::new()
            .prefix(".covenant-new-store-")
            .tempdir_in(parent)
            .map_err(|e| Error::io("create a staging directory in", parent, e))?;
        let stage = staging.path();
        file::create_private_dir(&stage.join(KEYS_DIR))?;
        file::write_atomic(
            &stage.join(policy::FILE_NAME),
            new.policy_text.as_bytes(),
            Overwrite::Refuse,
        )?;
        file::write_atomic(&stage.join(ROOT_KEY_FILE), &sealed_root, Overwrite::Refuse)?;
        file::write_atomic(&ledger::path_in(stage), &genesis, Overwrite::Refuse)?;
        // The lock file is part of a new store, so that the first command
        // that opens it for writing, even one that is then refused, leaves
        // the store exactly as it found it.
        file::write_atomic(&stage.join(LOCK_FILE), b"", Overwrite::Refuse)?;
        fs::set_permissions(
            stage,
            std::os::unix::fs::PermissionsExt::from_mode(file::DIR_MODE),
        )
        .map_err(|e| Error::io("set permissions on", stage, e))?;
        file::sync_dir(stage)?;

        let staged = staging.keep();
        if let Err(e) = fs::rename(&staged, dir) {
            let _ = fs::remove_dir_all(&staged);
            return Err(Error::io("create the store at", dir, e));
        }
        file::sync_dir(parent)?;
        Ok(root)
    }

    /// Opens an existing store. With `Access::Write` the store's lock is
    /// taken first, so the state read is the state written against.
    pub fn open(dir: &Path, access: Access) -> Result<Store> {
        Store::load(dir, access, PARTS)
    }

    /// Opens an existing store to report on it, without the lock. Unlike
    /// `open`, it does not refuse a store whose root key file is missing:
    /// `status` and `key list` report that file with the others
    /// (`key_files`) instead.
    pub fn inspect(dir: &Path) -> Result<Store> {
        Store::load(dir, Access::Read, READABLE_PARTS)
    }

    fn load(dir: &Path, access: Access, required: &[&str]) -> Result<Store> {
        if !dir.is_dir() {
            return Err(Error::StoreInvalid {
                path: dir.to_path_buf(),
                reason: "no store here; create one with `covenant init`, or point --store \
                         (or COVENANT_STORE) at an existing one"
                    .into(),
            });
        }
        for part in required {
            if !dir.join(part).exists() {
                return Err(Error::StoreInvalid {
                    path: dir.to_path_buf(),
                    reason: format!("the store is incomplete: {part} is missing"),
                });
            }
        }
        let lock = match access {
            Access::Write => Some(lock(dir)?),
            Access::Read => None,
        };
        if lock.is_some()
            && let Some(undone) = ledger::roll_back_unfinished(&ledger::path_in(dir))?
            && let Some(kept) = undone.kept
        {
            errln!(
                "covenant: an earlier command was stopped while adding its records to the \
                 ledger; as it never finished, its unfinished records ({} bytes) were taken \
                 out of the ledger and kept in {}",
                undone.bytes,
                kept.display()
            );
        }

        let policy_path = dir.join(policy::FILE_NAME);
        let policy_text = file::read_text(&policy_path)?;
        let policy = Policy::parse(&policy_path, &policy_text)?;
        let (state, head) = state::load(&ledger::path_in(dir))?;
        if state.issuer != policy.issuer {
            return Err(Error::StoreInvalid {
                path: policy_path,
                reason: format!(
                    "the policy names issuer {:?} but the store was created for {:?}",
                    policy.issuer, state.issuer
                ),
            });
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            policy_sha256: sha256_hex(policy_text.as_bytes()),
            policy_text,
            policy,
            state,
            head,
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The sealed root key file.
    pub fn root_key_path(&self) -> PathBuf {
        self.dir.join(ROOT_KEY_FILE)
    }

    /// The ledger file.
    pub fn ledger_path(&self) -> PathBuf {
        ledger::path_in(&self.dir)
    }

    /// The ledger's head as this store read it.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The sealed private key file of a signing key.
    pub fn key_path(&self, kid: &str) -> PathBuf {
        self.dir.join(KEYS_DIR).join(format!("{kid}.age"))
    }

    /// Seals and stores a new private key, refusing to replace a file.
    pub fn write_key(&self, kid: &str, sealed: &[u8]) -> Result<()> {
        file::write_atomic(&self.key_path(kid), sealed, Overwrite::Refuse)
    }

    /// Unseals a signing key, ready to sign.
    pub fn unlock(&self, kid: &str, how: &Unlock) -> Result<SigningKey> {
        let key = self.state.key(kid).ok_or_else(|| Error::KeyNotFound {
            kid: kid.to_string(),
        })?;
        let pkcs8 = self.unseal(kid, how)?;
        SigningKey::new(&key.jwk, &pkcs8).map_err(|reason| Error::KeyFile {
            path: self.key_path(kid),
            reason,
        })
    }

    /// Appends events to the ledger. Requires `Access::Write`.
    ///
    /// When the policy file differs from the one the ledger last recorded,
    /// a `policy.changed` record with the new text goes first, so that the
    /// ledger always says which policy governed each event.
    pub fn record(&mut self, now: Timestamp, entries: Vec<Entry>) -> Result<()> {
        self.record_with(now, |append| {
            entries.into_iter().try_for_each(|entry| append.push(entry))
        })
    }

    /// Appends the entries `fill` pushes in one durable write, without
    /// holding them all in memory first: a batch of tokens is recorded
    /// this way.
    pub fn record_with(
        &mut self,
        now: Timestamp,
        fill: impl FnOnce(&mut ledger::Append<'_>) -> Result<()>,
    ) -> Result<()> {
        assert!(
            self._lock.is_some(),
            "the store must be opened for writing to record events"
        );
        let path = ledger::path_in(&self.dir);
        let mut append = ledger::Append::begin(&path, &self.head, now)?;
        let policy_changed = self.policy_sha256 != self.state.policy_sha256;
        if policy_changed {
            append.before_first(Event::PolicyChanged {
                policy_sha256: self.policy_sha256.clone(),
                policy: self.policy_text.clone(),
            });
        }
        fill(&mut append)?;
        let wrote = !append.is_empty();
        self.head = append.commit()?;
        if policy_changed && wrote {
            self.state.policy_sha256 = self.policy_sha256.clone();
        }
        Ok(())
    }
}

/// Refuses an output path (a file or a folder) that lies inside the store
/// at `store_dir`, symbolic links followed. The store holds only the files
/// covenant keeps there: an output written among them could replace the
/// root key, a sealed key, the policy or the ledger, and whatever is
/// written there travels with every copy of the store, which matters for
/// tokens, bearer secrets that the ledger keeps only digests of.
pub fn refuse_output_inside(store_dir: &Path, out: &Path, flag: &str) -> Result<()> {
    // The output may not exist yet: its nearest existing ancestor tells
    // where it would be.
    let mut probe = out;
    while fs::symlink_metadata(probe).is_err() {
        probe = match probe.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
    }
    // A store that does not exist yet cannot be written over; a dangling
    // link or an unreadable folder is left to the write itself to report.
    let (Ok(store), Ok(target)) = (fs::canonicalize(store_dir), fs::canonicalize(probe)) else {
        return Ok(());
    };
    if target.starts_with(&store) {
        return Err(Error::Usage(format!(
            "{}: {flag} is inside the store {}, which holds only covenant's own files and \
             travels with every copy of the store. Choose a path outside it",
            out.display(),
            store.display()
        )));
    }
    Ok(())
}

/// Takes the store's exclusive lock, waiting (and saying so) when another
/// covenant process holds it.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(file::FILE_MODE)
        .open(&path)
        .map_err(|e| Error::io("open the lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            errln!(
                "covenant: another covenant process is using {}; waiting for it",
                dir.display()
            );
            file.lock().map_err(|e| Error::io("lock", &path, e))?;
        }
        Err(fs::TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
    }
    Ok(file)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes))
}
