//! covenant's errors: each variant names a situation a user can act on.
//!
//! Messages say what happened and, where it helps, what to do next. They
//! never contain a passphrase, a private key or a token: the variants that
//! describe secrets carry only the file or key id they concern.

use std::io;
use std::path::PathBuf;

use crate::diagnostic::Diagnostic;

/// The result type used throughout covenant.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a covenant command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Some contracts of a batch were refused; each refusal was printed
    /// before this error. `outcome` says what happened to the others.
    #[error("{refused} of {total} contracts were refused (each is reported above); {outcome}")]
    ContractsRefused {
        refused: usize,
        total: usize,
        outcome: String,
    },

    /// An input file (policy, contract, JWKS) is malformed or breaks policy;
    /// the diagnostic points at the file, line and field.
    #[error("{0}")]
    Input(Box<Diagnostic>),

    /// A key file could not be read as the key the ledger says it holds.
    #[error("{path}: {reason}")]
    KeyFile { path: PathBuf, reason: String },

    /// Key files the store should hold are missing or damaged, as a look
    /// without unsealing found (`covenant status`): each path with what is
    /// wrong with it.
    #[error("{}", key_files_damaged(.0))]
    KeyFilesDamaged(Vec<(PathBuf, String)>),

    /// The key id does not name a key in this store.
    #[error("no key {kid} in the store; `covenant key list` shows the keys")]
    KeyNotFound { kid: String },

    /// A key cannot be used for what was asked.
    #[error("key {kid}: {reason}")]
    KeyUnusable { kid: String, reason: String },

    /// The ledger is damaged, tampered with or was cut short.
    #[error("{path}: record {record}: {reason}")]
    Ledger {
        path: PathBuf,
        record: u64,
        reason: String,
    },

    /// No key is active, so nothing can sign.
    #[error("the store has no active signing key; run `covenant key generate` first")]
    NoActiveKey,

    /// A passphrase is needed but there is no terminal to ask it on.
    #[error(
        "no terminal to ask for the passphrase on; \
         give --passphrase-file PATH (a file or /dev/fd/N) for unattended use"
    )]
    NoTerminal,

    /// A file or directory could not be read or written.
    #[error("{path}: cannot {action}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Whoever read stdout stopped reading (`covenant log | head`). Not a
    /// failure: the command ends quietly.
    #[error("stdout was closed")]
    OutputClosed,

    /// The passphrase could not be read or is unacceptable.
    #[error("{0}")]
    Passphrase(String),

    /// The two entries of a new passphrase differ.
    #[error("the two passphrases differ; nothing was written")]
    PassphraseMismatch,

    /// The store already exists where `init` was asked to create one.
    #[error("{path}: a store already exists here; refusing to overwrite it")]
    StoreExists { path: PathBuf },

    /// The store is missing, or some of its parts are.
    #[error("{path}: {reason}")]
    StoreInvalid { path: PathBuf, reason: String },

    /// A manifest or transcript was checked and is not valid.
    #[error("{0}")]
    Rejected(String),

    /// A token failed verification. This is the one error that means
    /// "checked, and the answer is no" rather than "could not check".
    #[error("token rejected: {0}")]
    TokenRejected(String),

    /// The command line asks for something contradictory or impossible.
    #[error("{0}")]
    Usage(String),

    /// The age passphrase did not unlock the key.
    #[error("wrong passphrase for {what}; nothing was changed")]
    WrongPassphrase { what: String },
}

impl Error {
    /// Attaches a path and an action to an I/O error.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The process exit status for this error: 1 when a verification ran
    /// and said no (a damaged ledger or key file found counts), 2 when the
    /// command could not do its job.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::TokenRejected(_) | Error::Rejected(_) => 1,
            Error::Ledger { .. } | Error::KeyFilesDamaged(_) => 1,
            _ => 2,
        }
    }
}

fn key_files_damaged(files: &[(PathBuf, String)]) -> String {
    match files {
        [(path, problem)] => format!(
            "{}: {problem}; restore it from a backup of the store",
            path.display()
        ),
        _ => {
            let each: Vec<String> = files
                .iter()
                .map(|(path, problem)| format!("{} ({problem})", path.display()))
                .collect();
            format!(
                "{} key files are missing or damaged: {}; restore them from a backup of the store",
                files.len(),
                each.join(", ")
            )
        }
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Error {
        Error::Input(Box::new(d))
    }
}
