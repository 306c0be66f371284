//! Where passphrases come from.
//!
//! A passphrase is read from the controlling terminal (through rpassword,
//! with echo off) or, for automation, from a file given by path; `/dev/fd/N`
//! works for a descriptor a parent process opened. It is never taken from
//! argv or from an environment variable, both of which other processes and
//! shell histories can read. The text lives in a `SecretString`, which
//! zeroizes itself when dropped and has no `Display`.

use std::fs;
use std::io::IsTerminal;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Shortest passphrase accepted for a new key without a warning.
const RECOMMENDED_MIN_CHARS: usize = 12;

/// How a command obtains passphrases.
#[derive(Debug, Clone)]
pub enum PassphraseSource {
    /// Ask on the controlling terminal.
    Terminal,
    /// Read the first line of this file.
    File(PathBuf),
}

impl PassphraseSource {
    /// The source named by an optional `--passphrase-file`.
    pub fn from_option(file: Option<PathBuf>) -> PassphraseSource {
        file.map_or(PassphraseSource::Terminal, PassphraseSource::File)
    }

    /// Fails early, before any work, when the source cannot possibly
    /// deliver: no terminal and no file.
    pub fn check_available(&self) -> Result<()> {
        match self {
            PassphraseSource::Terminal if !has_terminal() => Err(Error::NoTerminal),
            PassphraseSource::Terminal => Ok(()),
            PassphraseSource::File(path) => {
                fs::metadata(path).map_err(|e| Error::io("read passphrase file", path, e))?;
                Ok(())
            }
        }
    }

    /// Reads the passphrase that unlocks an existing secret.
    pub fn existing(&self, what: &str) -> Result<SecretString> {
        match self {
            PassphraseSource::File(path) => read_file(path),
            PassphraseSource::Terminal => prompt(&format!("Passphrase for {what}: ")),
        }
    }

    /// Reads a passphrase that will protect a new secret: asked twice on a
    /// terminal, and refused when empty.
    pub fn new_secret(&self, what: &str) -> Result<SecretString> {
        let passphrase = match self {
            PassphraseSource::File(path) => read_file(path)?,
            PassphraseSource::Terminal => {
                let first = prompt(&format!("New passphrase for {what}: "))?;
                let second = prompt("Repeat it: ")?;
                if first.expose_secret() != second.expose_secret() {
                    return Err(Error::PassphraseMismatch);
                }
                first
            }
        };
        if passphrase.expose_secret().chars().count() < RECOMMENDED_MIN_CHARS {
            errln!(
                "covenant: warning: the passphrase for {what} is shorter than \
                 {RECOMMENDED_MIN_CHARS} characters"
            );
        }
        Ok(passphrase)
    }
}

fn has_terminal() -> bool {
    fs::File::open("/dev/tty").is_ok_and(|tty| tty.is_terminal())
}

fn prompt(text: &str) -> Result<SecretString> {
    if !has_terminal() {
        return Err(Error::NoTerminal);
    }
    let entered = Zeroizing::new(
        rpassword::prompt_password(text)
            .map_err(|e| Error::Passphrase(format!("cannot read the passphrase: {e}")))?,
    );
    if entered.is_empty() {
        return Err(Error::Passphrase("the passphrase is empty".into()));
    }
    Ok(SecretString::from(entered.as_str()))
}

/// Largest passphrase file read; only its first line is the passphrase.
const PASSPHRASE_FILE_MAX: u64 = 64 * 1024;

/// Reads the first line of a passphrase file. Only the line ending is
/// removed: leading and inner spaces are part of the passphrase.
fn read_file(path: &Path) -> Result<SecretString> {
    let bytes = crate::file::read_secret(path, PASSPHRASE_FILE_MAX)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::Passphrase(format!(
            "{}: the passphrase file is not UTF-8 text",
            path.display()
        ))
    })?;
    let line = text.split('\n').next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(Error::Passphrase(format!(
            "{}: the passphrase file is empty",
            path.display()
        )));
    }
    if let Ok(meta) = fs::metadata(path)
        && meta.is_file()
        && meta.permissions().mode() & 0o077 != 0
    {
        errln!(
            "covenant: warning: {} can be read by other users; chmod 600 it",
            path.display()
        );
    }
    Ok(SecretString::from(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_file_keeps_spaces_and_drops_the_line_ending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        fs::write(&path, " correct horse \r\nsecond line\n").unwrap();
        let secret = PassphraseSource::File(path).existing("k").unwrap();
        assert_eq!(secret.expose_secret(), " correct horse ");
    }

    #[test]
    fn empty_passphrase_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        fs::write(&path, "\n").unwrap();
        let err = PassphraseSource::File(path).existing("k").unwrap_err();
        assert!(err.to_string().contains("empty"));
    }
}
