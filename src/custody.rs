//! Who can unlock a private key: a passphrase, or any one of a set of age
//! X25519 recipients.
//!
//! Recipients are public (`age1…`), so they may be given on the command
//! line or in a file and are recorded in the ledger. Identities are the
//! officers' secret keys (`AGE-SECRET-KEY-1…`); they are only ever read
//! from a file the officer names with `--identity`, one per unlock.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::file;
use crate::passphrase::PassphraseSource;

/// The ledger's name for passphrase custody.
pub const PASSPHRASE: &str = "passphrase";
/// The ledger's name for custody by age X25519 recipients (docs/ledger.md).
pub const RECIPIENTS: &str = "recipients";

/// How the officer proposes to unlock a key.
#[derive(Debug, Clone)]
pub enum Unlock {
    Passphrase(PassphraseSource),
    /// An age identity file holding one or more X25519 identities.
    Identity(PathBuf),
}

impl Unlock {
    /// The unlock method named by `--passphrase-file` and `--identity`.
    pub fn from_options(passphrase_file: Option<PathBuf>, identity: Option<PathBuf>) -> Unlock {
        match identity {
            Some(path) => Unlock::Identity(path),
            None => Unlock::Passphrase(PassphraseSource::from_option(passphrase_file)),
        }
    }

    /// Checks, before any work, that this method fits a key held under
    /// `custody` and can deliver.
    pub fn check_for(&self, kid: &str, custody: &str) -> Result<()> {
        match (self, custody) {
            (Unlock::Passphrase(source), PASSPHRASE) => source.check_available(),
            (Unlock::Identity(path), RECIPIENTS) => std::fs::metadata(path)
                .map(drop)
                .map_err(|e| Error::io("read the identity file", path, e)),
            (Unlock::Passphrase(_), _) => Err(Error::KeyUnusable {
                kid: kid.to_string(),
                reason: "it is sealed to age X25519 recipients; give --identity FILE with \
                         one officer's age identity"
                    .into(),
            }),
            (Unlock::Identity(_), _) => Err(Error::KeyUnusable {
                kid: kid.to_string(),
                reason: "it is sealed with a passphrase, not to age recipients; \
                         drop --identity"
                    .into(),
            }),
        }
    }
}

/// Which custody an age file is sealed under, read from its header's
/// stanzas (age-encryption.org/v1: `-> scrypt …` or `-> X25519 …`). None
/// for a file that is not a plain-text-header age file.
pub fn sealed_with(sealed: &[u8]) -> Option<&'static str> {
    let header = sealed
        .split(|b| *b == b'\n')
        .take_while(|l| !l.starts_with(b"---"));
    let mut found = None;
    for line in header.skip(1) {
        if line.starts_with(b"-> scrypt ") {
            found = Some(PASSPHRASE);
        } else if line.starts_with(b"-> X25519 ") {
            found = Some(RECIPIENTS);
        }
    }
    found
}

/// Largest identity file read: one X25519 identity is 74 bytes, and a
/// file of many with comments stays far below this.
const IDENTITY_FILE_MAX: u64 = 64 * 1024;

/// Reads the identities of an age identity file.
pub fn read_identities(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let bytes = crate::file::read_secret(path, IDENTITY_FILE_MAX)?;
    let file = age::IdentityFile::from_buffer(&bytes[..])
        .map_err(|e| Error::io("read the identity file", path, e))?;
    let identities = file.into_identities().map_err(|e| {
        Error::Usage(format!(
            "{}: not a usable age identity file: {e}",
            path.display()
        ))
    })?;
    if identities.is_empty() {
        return Err(Error::Usage(format!(
            "{}: the file holds no age identity",
            path.display()
        )));
    }
    Ok(identities)
}

/// The recipients named by `--recipient` and `--recipients-file`, checked
/// and without duplicates. Only native X25519 recipients are accepted:
/// plugin and SSH recipients would make unlocking depend on software the
/// air-gapped machine may not have.
pub fn recipients(given: &[String], file: Option<&Path>) -> Result<Vec<age::x25519::Recipient>> {
    let mut texts: Vec<(String, String)> = given
        .iter()
        .map(|r| (r.trim().to_string(), "--recipient".to_string()))
        .collect();
    if let Some(path) = file {
        let text = file::read_text(path)?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if !line.is_empty() && !line.starts_with('#') {
                texts.push((line.to_string(), format!("{}:{}", path.display(), n + 1)));
            }
        }
    }
    let mut out: Vec<age::x25519::Recipient> = Vec::new();
    for (text, origin) in texts {
        let recipient = text.parse::<age::x25519::Recipient>().map_err(|e| {
            // A line of a file is not quoted: the file given may be an
            // identity (AGE-SECRET-KEY-1…) or a passphrase by mistake.
            let what = match origin.as_str() {
                "--recipient" => format!("{text:?}"),
                _ => "the line".to_string(),
            };
            Error::Usage(format!(
                "{origin}: {what} is not an age X25519 recipient (age1…): {e}"
            ))
        })?;
        if !out.iter().any(|r| r.to_string() == recipient.to_string()) {
            out.push(recipient);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_custody_is_read_from_the_age_header() {
        let pkcs8 = crate::key::generate(crate::algorithm::Algorithm::EdDSA, 0).unwrap();
        let officer = age::x25519::Identity::generate().to_public();
        let sealed = crate::key::seal(&pkcs8, crate::key::Custody::Recipients(&[officer])).unwrap();
        assert_eq!(sealed_with(&sealed), Some(RECIPIENTS));
        assert_eq!(sealed_with(b"not age at all"), None);
    }

    #[test]
    fn recipients_file_skips_comments_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let a = age::x25519::Identity::generate().to_public().to_string();
        let path = dir.path().join("r.txt");
        std::fs::write(&path, format!("# officers\n\n{a}\n{a}\nage1nope\n")).unwrap();
        let err = recipients(&[], Some(&path)).unwrap_err().to_string();
        assert!(err.contains("r.txt:5"), "{err}");
        std::fs::write(&path, format!("# officers\n\n{a}\n{a}\n")).unwrap();
        assert_eq!(recipients(&[], Some(&path)).unwrap().len(), 1);
    }
}
