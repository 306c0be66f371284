//! The store's sealed key files: unsealing, replacing under new custody,
//! and erasing.

use std::fs::{self, OpenOptions};
use std::io::{Seek, Write};

use age::secrecy::SecretString;

use super::Store;
use crate::custody::{self, Unlock};
use crate::error::{Error, Result};
use crate::file::{self, Overwrite};
use crate::key::{self, Pkcs8, UnsealError};

impl Store {
    /// Decrypts a key's PKCS#8 document in memory.
    pub fn unseal(&self, kid: &str, how: &Unlock) -> Result<Pkcs8> {
        let key = self.state.key(kid).ok_or_else(|| Error::KeyNotFound {
            kid: kid.to_string(),
        })?;
        if let Some(c) = &key.destroyed {
            return Err(Error::KeyUnusable {
                kid: kid.to_string(),
                reason: format!(
                    "its private half was destroyed at {} (ledger record {})",
                    c.time, c.record
                ),
            });
        }
        let path = self.key_path(kid);
        let sealed = file::read_input(&path, file::MAX_INPUT)?;
        how.check_for(kid, &self.custody_of(kid, &sealed))?;
        let opened = match how {
            Unlock::Passphrase(source) => {
                let passphrase = source.existing(&format!("key {kid}"))?;
                key::unseal_with_passphrase(&sealed, passphrase)
            }
            Unlock::Identity(file) => {
                let identities = custody::read_identities(file)?;
                key::unseal_with_identities(&sealed, &identities)
            }
        };
        opened.map_err(|e| match (e, how) {
            (UnsealError::WrongSecret, Unlock::Passphrase(_)) => Error::WrongPassphrase {
                what: format!("key {kid}"),
            },
            (UnsealError::WrongSecret, Unlock::Identity(file)) => Error::KeyUnusable {
                kid: kid.to_string(),
                reason: format!(
                    "no identity in {} is one of its {} recipients; nothing was changed",
                    file.display(),
                    key.recipients.len()
                ),
            },
            (UnsealError::Damaged(reason), _) => Error::KeyFile { path, reason },
        })
    }

    /// How a key is unlocked now: `passphrase` or `recipients`. This is read
    /// from the key file's age header, which can differ from the ledger only
    /// if a rewrap was interrupted after the file was replaced and before
    /// the change was recorded. The file is what unlocks, so it wins, and
    /// the officer is told how to bring the ledger up to date.
    pub fn custody_of(&self, kid: &str, sealed: &[u8]) -> String {
        let recorded = self.state.key(kid).map_or("", |k| k.custody.as_str());
        let Some(actual) = custody::sealed_with(sealed) else {
            return recorded.to_string();
        };
        if actual != recorded {
            errln!(
                "covenant: warning: key {kid} is sealed with {actual} but the ledger records \
                 {recorded}; an interrupted rewrap? Run `covenant key rewrap {kid}` again to \
                 record its custody"
            );
        }
        actual.to_string()
    }

    /// The custody of a key as its file says; see `custody_of`.
    pub fn current_custody(&self, kid: &str) -> Result<String> {
        let path = self.key_path(kid);
        let sealed = file::read_input(&path, file::MAX_INPUT)?;
        Ok(self.custody_of(kid, &sealed))
    }

    /// Replaces a key file with `sealed`, then overwrites the old file's
    /// content. The new file is durably in place before the old content is
    /// touched, so a crash leaves one readable key file. The old file is
    /// held open across the rename so that its blocks, not a fresh copy,
    /// are overwritten.
    pub fn replace_key(&self, kid: &str, sealed: &[u8]) -> Result<()> {
        let path = self.key_path(kid);
        let mut old = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open the key file", &path, e))?;
        file::write_atomic(&path, sealed, Overwrite::Allow)?;
        overwrite(&mut old).map_err(|e| Error::io("overwrite the old key file", &path, e))
    }

    /// Erases a key file: overwrites its content, flushes, unlinks it and
    /// flushes the directory. Returns false when there was no file.
    pub fn erase_key(&self, kid: &str) -> Result<bool> {
        let path = self.key_path(kid);
        let mut handle = match OpenOptions::new().write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io("open the key file", &path, e)),
        };
        overwrite(&mut handle).map_err(|e| Error::io("overwrite the key file", &path, e))?;
        fs::remove_file(&path).map_err(|e| Error::io("remove the key file", &path, e))?;
        file::sync_dir(file::parent_of(&path))?;
        Ok(true)
    }

    /// Checks that `sealed` opens with `passphrase` to the same key, before
    /// it replaces anything.
    pub fn check_resealed(&self, sealed: &[u8], passphrase: SecretString, pkcs8: &Pkcs8) -> bool {
        key::unseal_with_passphrase(sealed, passphrase).is_ok_and(|p| p.der() == pkcs8.der())
    }
}

/// Overwrites a file's whole content with zeros and flushes it. On
/// copy-on-write or wear-levelled storage the old blocks may survive; the
/// age encryption is what protects them, which docs/lifecycle.md says.
fn overwrite(f: &mut fs::File) -> std::io::Result<()> {
    let len = f.metadata()?.len();
    f.rewind()?;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    f.sync_all()
}
