//! Durable, private file writes.
//!
//! Every file covenant writes goes through here: it is written to a
//! temporary file in the destination directory, flushed to disk, given its
//! final permissions, renamed into place and the directory entry flushed.
//! A crash at any point leaves either the old file or the new one, never a
//! mix. Permissions are set explicitly rather than left to the umask, so a
//! permissive umask cannot widen them.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Mode of every file covenant creates inside a store, and of key files.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every directory covenant creates.
pub const DIR_MODE: u32 = 0o700;

/// Whether an existing destination may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    Allow,
    Refuse,
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8], overwrite: Overwrite) -> Result<()> {
    let dir = parent_of(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".covenant-tmp-")
        .permissions(fs::Permissions::from_mode(FILE_MODE))
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
    // tempfile honours the requested mode only up to the umask.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(FILE_MODE))
        .map_err(|e| Error::io("set permissions on", tmp.path().to_path_buf(), e))?;

    match overwrite {
        Overwrite::Allow => tmp.persist(path).map(drop).map_err(|e| e.error),
        Overwrite::Refuse => tmp.persist_noclobber(path).map(drop).map_err(|e| e.error),
    }
    .map_err(|e| Error::io("write", path, e))?;
    sync_dir(dir)
}

/// Writes many new files into the existing directory `dir`, each with
/// mode 0600 and atomically like `write_atomic`, refusing to replace any
/// file. Every file's contents are flushed to disk, several at a time,
/// before any file takes its name, and the directory is flushed once at
/// the end rather than once per file.
/// `done` is called once per file that has its name.
///
/// A file that appears under one of the names meanwhile stops the writing
/// there: the files already named stay, the rest are removed.
pub fn write_new_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a Path, &'a [&'a [u8]])>,
    done: &mut dyn FnMut(),
) -> Result<()> {
    let mut staged = Vec::new();
    for (name, parts) in files {
        let mut tmp = tempfile::Builder::new()
            .prefix(".covenant-tmp-")
            .permissions(fs::Permissions::from_mode(FILE_MODE))
            .tempfile_in(dir)
            .map_err(|e| Error::io("create a temporary file in", dir, e))?;
        parts
            .iter()
            .try_for_each(|part| tmp.write_all(part))
            .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(FILE_MODE))
            .map_err(|e| Error::io("set permissions on", tmp.path().to_path_buf(), e))?;
        // Closed here: a large batch would otherwise run out of descriptors.
        staged.push((tmp.into_temp_path(), dir.join(name)));
    }
    let temps: Vec<&Path> = staged.iter().map(|(tmp, _)| tmp.as_ref()).collect();
    sync_files(&temps)?;
    for (tmp, path) in staged {
        tmp.persist_noclobber(&path)
            .map_err(|e| Error::io("write", &path, e.error))?;
        done();
    }
    sync_dir(dir)
}

/// Flushing is waiting on the disk rather than computing: with several
/// flushes in flight the device works on them together, where one after
/// the other each waits for the last.
const FLUSH_THREADS: usize = 8;

/// Flushes the contents of many files to disk.
fn sync_files(paths: &[&Path]) -> Result<()> {
    let run = paths.len().div_ceil(FLUSH_THREADS).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(run)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().try_for_each(|path| {
                        File::open(path)
                            .and_then(|f| f.sync_all())
                            .map_err(|e| Error::io("flush", path.to_path_buf(), e))
                    })
                })
            })
            .collect();
        handles.into_iter().try_for_each(|handle| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}

/// Moves a fully written temporary file into place with mode 0600,
/// replacing any file there, and flushes the directory.
pub fn persist_private(tmp: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(FILE_MODE))
        .map_err(|e| Error::io("set permissions on", tmp.path().to_path_buf(), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("write", path, e.error))?;
    sync_dir(parent_of(path))
}

/// Creates a directory with mode 0700, failing if it exists.
pub fn create_private_dir(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .mode(DIR_MODE)
        .create(path)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE)))
        .map_err(|e| Error::io("create directory", path, e))
}

/// Opens `path` for appending, creating it with mode 0600 if needed.
pub fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| Error::io("open for appending", path, e))
}

/// Flushes a directory's entries, so that a rename or a new file in it
/// survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("flush directory", dir, e))
}

/// The directory holding `path`; `.` for a bare file name.
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Reads a file as UTF-8 text, naming the file in any error.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| Error::io("read", path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::from(crate::diagnostic::Diagnostic::file(
            path,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_private_and_can_refuse_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one", Overwrite::Refuse).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(write_atomic(&path, b"two", Overwrite::Refuse).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two", Overwrite::Allow).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
    }
}
