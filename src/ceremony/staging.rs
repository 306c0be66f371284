//! Where a ceremony works: a staged copy of the store beside the real one.
//!
//! Every action of a ceremony runs against the copy. When the last step is
//! confirmed, the copy takes the real store's place in one rename: with
//! `renameat2(RENAME_EXCHANGE)` when a store exists, a plain rename when the
//! ceremony creates it. Until that instant the real store is untouched, so
//! a ceremony that is abandoned, fails or is killed leaves it exactly as it
//! was; after it, the store holds every step. Nothing in between exists.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{CWD, RenameFlags, renameat_with};

use crate::error::{Error, Result};
use crate::file;

/// The staging directory: `store/` (the copy) and `out/` (files the
/// actions write), removed when dropped unless the ceremony was committed.
pub struct Staging {
    dir: tempfile::TempDir,
}

impl Staging {
    /// Stages `store` beside itself (so the final rename stays on one file
    /// system). A store that does not exist yet is left for the ceremony
    /// to create.
    pub fn beside(store: &Path) -> Result<Staging> {
        let parent = file::parent_of(store);
        let dir = tempfile::Builder::new()
            .prefix(".covenant-ceremony-")
            .tempdir_in(parent)
            .map_err(|e| Error::io("create a staging directory in", parent, e))?;
        let staging = Staging { dir };
        file::create_private_dir(&staging.out())?;
        if store.join(crate::ledger::FILE_NAME).exists() {
            copy_tree(store, &staging.store())?;
        }
        Ok(staging)
    }

    /// The staged store.
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Where the actions' output files go.
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// Puts the staged store in the real store's place, atomically, and
    /// flushes the directory so the swap survives a crash.
    pub fn commit(&self, store: &Path) -> Result<()> {
        let staged = self.store();
        let exists = store.join(crate::ledger::FILE_NAME).exists();
        let swapped = if exists {
            renameat_with(CWD, &staged, CWD, store, RenameFlags::EXCHANGE)
                .map_err(std::io::Error::from)
        } else {
            fs::rename(&staged, store)
        };
        swapped.map_err(|e| Error::io("put the ceremony's store in place at", store, e))?;
        // The swap is done; a failure to flush it is not a failed ceremony.
        if let Err(e) = file::sync_dir(file::parent_of(store)) {
            errln!("covenant: warning: {e}");
        }
        Ok(())
    }

    /// Keeps the staging directory on disk and returns its path.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}

/// Copies a store directory, keeping file modes, and flushes every file.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    file::create_private_dir(to)?;
    for entry in fs::read_dir(from).map_err(|e| Error::io("read directory", from, e))? {
        let entry = entry.map_err(|e| Error::io("read directory", from, e))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let meta =
            fs::symlink_metadata(&source).map_err(|e| Error::io("read", source.clone(), e))?;
        if meta.is_dir() {
            copy_tree(&source, &target)?;
        } else if meta.is_file() {
            let bytes = fs::read(&source).map_err(|e| Error::io("read", source.clone(), e))?;
            file::write_atomic(&target, &bytes, file::Overwrite::Refuse)?;
            let mode = meta.permissions().mode() & 0o777;
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io("set permissions on", target.clone(), e))?;
        } else {
            return Err(Error::StoreInvalid {
                path: source,
                reason: "a store holds only files and directories; remove this entry".into(),
            });
        }
    }
    let mode = fs::metadata(from)
        .map_err(|e| Error::io("read", from, e))?
        .permissions()
        .mode()
        & 0o777;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("set permissions on", to, e))?;
    file::sync_dir(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_swaps_the_staged_store_in_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        file::create_private_dir(&store).unwrap();
        fs::write(store.join("ledger.jsonl"), b"old\n").unwrap();
        let staging = Staging::beside(&store).unwrap();
        fs::write(staging.store().join("ledger.jsonl"), b"new\n").unwrap();
        assert_eq!(fs::read(store.join("ledger.jsonl")).unwrap(), b"old\n");

        staging.commit(&store).unwrap();
        assert_eq!(fs::read(store.join("ledger.jsonl")).unwrap(), b"new\n");
        drop(staging);
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "the staging directory is removed");
    }
}
