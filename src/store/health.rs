//! A look at the sealed key files without unsealing them, so that `status`
//! and `key list` notice a file that was deleted, truncated or replaced
//! long before a ceremony needs the key.
//!
//! The look is shallow on purpose: it needs no passphrase and reads only
//! the first line of each file. A file that passes can still be damaged
//! further in; unsealing is the only full check.

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::Store;
use crate::state::Key;

/// The first line of every age file (age-encryption.org/v1, "Header").
/// covenant writes binary age files, never the ASCII-armored form.
const AGE_HEADER_LINE: &[u8] = b"age-encryption.org/v1\n";

/// What a look at a sealed key file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFileState {
    /// A regular, non-empty file whose first line is age's.
    Ok,
    /// No file at the path (or a symbolic link to nothing).
    Missing,
    /// Something other than a regular file: a directory, a device, a pipe.
    NotRegular,
    /// A file of 0 bytes.
    Empty,
    /// A file whose first line is not age's.
    NotAge,
    /// The file could not be looked at; the reason from the system.
    Unreadable(String),
}

impl KeyFileState {
    /// The name `--json` gives this state (docs/lifecycle.md).
    pub fn name(&self) -> &'static str {
        match self {
            KeyFileState::Ok => "ok",
            KeyFileState::Missing => "missing",
            KeyFileState::NotRegular => "not a regular file",
            KeyFileState::Empty => "empty",
            KeyFileState::NotAge => "not an age file",
            KeyFileState::Unreadable(_) => "unreadable",
        }
    }

    pub fn is_ok(&self) -> bool {
        *self == KeyFileState::Ok
    }

    /// What is wrong, for people: the name, with the system's reason
    /// when the file could not be read.
    pub fn describe(&self) -> String {
        match self {
            KeyFileState::Unreadable(reason) => format!("unreadable: {reason}"),
            _ => self.name().into(),
        }
    }
}

/// One key file the store should hold, and what a look at it found.
pub struct CheckedFile<'a> {
    pub path: PathBuf,
    /// The signing key the file seals; `None` for the root key.
    pub key: Option<&'a Key>,
    pub state: KeyFileState,
}

impl CheckedFile<'_> {
    /// The file, what is wrong with it and which key it seals, for people:
    /// `store/keys/KID.age: empty (retired key)`.
    pub fn problem(&self, now: Timestamp, leeway: i64) -> String {
        let owner = match self.key {
            Some(k) => format!("{} key", k.state(now, leeway).name()),
            None => "the root key".into(),
        };
        format!(
            "{}: {} ({owner})",
            self.path.display(),
            self.state.describe()
        )
    }
}

impl Store {
    /// Every key file the store should hold, each looked at without
    /// unsealing it: the root key's first, then the file of each signing
    /// key that is not destroyed, in the ledger's order.
    pub fn key_files(&self) -> Vec<CheckedFile<'_>> {
        let root = self.root_key_path();
        let root = CheckedFile {
            state: check(&root),
            path: root,
            key: None,
        };
        let signing = self
            .state
            .keys
            .iter()
            .filter(|key| key.destroyed.is_none())
            .map(|key| {
                let path = self.key_path(key.kid());
                CheckedFile {
                    state: check(&path),
                    path,
                    key: Some(key),
                }
            });
        std::iter::once(root).chain(signing).collect()
    }
}

/// Looks at the file at `path`: that it exists, is a regular file, is not
/// empty, and that its first line is age's.
pub fn check(path: &Path) -> KeyFileState {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return KeyFileState::Missing,
        Err(e) => return KeyFileState::Unreadable(e.to_string()),
    };
    if !meta.is_file() {
        return KeyFileState::NotRegular;
    }
    if meta.len() == 0 {
        return KeyFileState::Empty;
    }
    match first_bytes(path, AGE_HEADER_LINE.len()) {
        Ok(Some(first)) if first == AGE_HEADER_LINE => KeyFileState::Ok,
        Ok(Some(_)) => KeyFileState::NotAge,
        Ok(None) => KeyFileState::NotRegular,
        Err(e) => KeyFileState::Unreadable(e.to_string()),
    }
}

/// Up to `n` bytes from the start of a regular file; `None` when the path
/// no longer names a regular file. It is opened non-blocking and checked
/// again through the open handle, so a pipe swapped in after the first
/// look cannot make the check wait forever.
fn first_bytes(path: &Path, n: usize) -> std::io::Result<Option<Vec<u8>>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Ok(None);
    }
    let mut first = Vec::with_capacity(n);
    file.take(n as u64).read_to_end(&mut first)?;
    Ok(Some(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        fs::write(at("sealed.age"), b"age-encryption.org/v1\n-> scrypt x 8\n").unwrap();
        fs::write(at("empty.age"), b"").unwrap();
        fs::write(at("garbage.age"), b"not a key\n").unwrap();
        fs::write(at("cut.age"), b"age-encryption.org/v").unwrap();
        fs::write(at("armored.age"), b"-----BEGIN AGE ENCRYPTED FILE-----\n").unwrap();
        fs::create_dir(at("dir.age")).unwrap();
        std::os::unix::fs::symlink(at("nowhere"), at("dangling.age")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            at("fifo.age"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();

        let found = |name: &str| check(&at(name)).name();
        assert_eq!(found("sealed.age"), "ok");
        assert_eq!(found("absent.age"), "missing");
        assert_eq!(found("dangling.age"), "missing");
        assert_eq!(found("empty.age"), "empty");
        assert_eq!(found("garbage.age"), "not an age file");
        assert_eq!(found("cut.age"), "not an age file");
        assert_eq!(found("armored.age"), "not an age file");
        assert_eq!(found("dir.age"), "not a regular file");
        assert_eq!(found("fifo.age"), "not a regular file");
    }
}
