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
    let mut tmp = new_temp_in(dir)?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;

    match overwrite {
        Overwrite::Allow => tmp.persist(path).map(drop).map_err(|e| e.error),
        Overwrite::Refuse => tmp.persist_noclobber(path).map(drop).map_err(|e| e.error),
    }
    .map_err(|e| Error::io("write", path, e))?;
    sync_dir(dir)
}

/// Writes many new files into the existing directory `dir`, each with
/// mode 0600 and atomically like `write_atomic`, refusing to replace any
/// file. Each file's contents are written under a temporary name and
/// flushed to disk before it takes its name; the flushes are made
/// [`NAME_GROUP`] files at a time, several at once, and the directory is
/// flushed once at the end rather than once per file. A batch of any size
/// so holds only one group's temporary names.
/// `done` is called once per file that has its name.
///
/// A file that appears under one of the names meanwhile stops the writing
/// there: the files already named stay, the rest are removed.
pub fn write_new_files<'a, N, P>(
    dir: &Path,
    files: impl IntoIterator<Item = (N, P)>,
    done: &mut dyn FnMut(),
) -> Result<()>
where
    N: AsRef<Path>,
    P: AsRef<[&'a [u8]]>,
{
    let mut files = files.into_iter().peekable();
    let mut staged = Vec::with_capacity(NAME_GROUP);
    while files.peek().is_some() {
        for (name, parts) in files.by_ref().take(NAME_GROUP) {
            // Named after the file it becomes, so that one left behind by a
            // kill says what it is, when the name leaves room for that.
            let shown = name.as_ref().to_string_lossy();
            let prefix = if shown.len() <= TEMP_NAMED_MAX {
                format!(".{shown}.")
            } else {
                ".".to_string()
            };
            let mut tmp = private_temp(dir, &prefix, &format!(".{TEMP_MARK}"))?;
            parts
                .as_ref()
                .iter()
                .try_for_each(|part| tmp.write_all(part))
                .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
            // Closed here: a large group would otherwise run out of
            // descriptors.
            staged.push((tmp.into_temp_path(), name));
        }
        let temps: Vec<&Path> = staged.iter().map(|(tmp, _)| tmp.as_ref()).collect();
        sync_files(&temps)?;
        for (tmp, name) in staged.drain(..) {
            let path = dir.join(name.as_ref());
            tmp.persist_noclobber(&path)
                .map_err(|e| Error::io("write", &path, e.error))?;
            done();
        }
    }
    sync_dir(dir)
}

/// The longest file name a temporary file in [`write_new_files`] is named
/// after: the temporary name adds 21 bytes, and most file systems take 255.
const TEMP_NAMED_MAX: usize = 234;

/// How many files [`write_new_files`] flushes before naming them.
pub const NAME_GROUP: usize = 512;

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

/// What the name of every temporary file covenant makes contains, so that
/// one left behind by a kill can be recognised.
pub const TEMP_MARK: &str = "covenant-tmp";

/// A private temporary file in `dir`, to be filled and moved into place
/// with `persist_new`.
pub fn new_temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    private_temp(dir, &format!(".{TEMP_MARK}-"), "")
}

/// A temporary file with mode 0600 in `dir`, named PREFIX, random letters,
/// SUFFIX.
fn private_temp(dir: &Path, prefix: &str, suffix: &str) -> Result<tempfile::NamedTempFile> {
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .permissions(fs::Permissions::from_mode(FILE_MODE))
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    // tempfile honours the requested mode only up to the umask.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(FILE_MODE))
        .map_err(|e| Error::io("set permissions on", tmp.path().to_path_buf(), e))?;
    Ok(tmp)
}

/// Fills a temporary file from `new_temp_in`, flushes it, and moves it to
/// `path`, which must not exist.
pub fn persist_new(mut tmp: tempfile::NamedTempFile, bytes: &[u8], path: &Path) -> Result<()> {
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", path, e))?;
    tmp.persist_noclobber(path)
        .map_err(|e| Error::io("write", path, e.error))?;
    sync_dir(parent_of(path))
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

/// Largest policy, contract or JWKS file covenant reads: real ones are a
/// few kilobytes, and a bound keeps `/dev/zero` or a runaway file from
/// exhausting memory.
pub const MAX_INPUT: u64 = 1 << 20;

/// Reads an input file of at most `max` bytes. Anything but a regular
/// file (a FIFO would block, a device would never end) is refused.
pub fn read_input(path: &Path, max: u64) -> Result<Vec<u8>> {
    // Opened without blocking: opening a FIFO with no writer would
    // otherwise wait for one forever, holding the store's lock. A regular
    // file reads the same either way.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| Error::io("read", path, e))?;
    let meta = file.metadata().map_err(|e| Error::io("read", path, e))?;
    if !meta.is_file() {
        return Err(refuse(path, "not a regular file".into()));
    }
    let mut bytes = Vec::new();
    read_at_most(file, path, max, &mut bytes, "an input covenant reads")?;
    Ok(bytes)
}

/// Reads a passphrase or identity file of at most `max` bytes into memory
/// that is wiped when dropped. Unlike [`read_input`], a pipe is accepted
/// and waited on: `--passphrase-file <(pass show covenant)` hands the
/// secret over without it ever touching a disk. A device is refused, since
/// `/dev/zero` named by mistake would never end.
pub fn read_secret(path: &Path, max: u64) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    use std::os::unix::fs::FileTypeExt;
    let file = File::open(path).map_err(|e| Error::io("read", path, e))?;
    let kind = file
        .metadata()
        .map_err(|e| Error::io("read", path, e))?
        .file_type();
    if !(kind.is_file() || kind.is_fifo() || kind.is_socket()) {
        return Err(refuse(path, "not a regular file or a pipe".into()));
    }
    // Sized up front, so that reading never moves the secret to a larger
    // buffer and leaves the old one unwiped.
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(max as usize + 1));
    read_at_most(
        file,
        path,
        max,
        &mut bytes,
        "a file covenant reads a secret from",
    )?;
    Ok(bytes)
}

/// Reads `source` (a file, or stdin named by `path`) to its end into
/// `bytes`, refusing it past `max` bytes as not being `what`.
pub fn read_at_most(
    source: impl std::io::Read,
    path: &Path,
    max: u64,
    bytes: &mut Vec<u8>,
    what: &str,
) -> Result<()> {
    use std::io::Read;
    source
        .take(max + 1)
        .read_to_end(bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > max {
        return Err(refuse(
            path,
            format!("larger than {max} bytes; this is not {what}"),
        ));
    }
    Ok(())
}

fn refuse(path: &Path, why: String) -> Error {
    crate::diagnostic::Diagnostic::file(path, why).into()
}

/// Reads a file as UTF-8 text, naming the file in any error.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = read_input(path, MAX_INPUT)?;
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
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("contract.toml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(read_input(&fifo, MAX_INPUT).map(drop)));
        let outcome = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("read_input returned instead of waiting for a writer");
        let message = outcome.unwrap_err().to_string();
        assert!(
            message.ends_with("contract.toml: not a regular file"),
            "{message}"
        );
    }

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
