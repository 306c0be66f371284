//! One module per subcommand: its arguments and the code that runs it.

/// Writes to stdout like `println!`, but a closed or full stdout becomes
/// an error (see `write_stdout`) instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cmd::write_stdout(&format!("{}\n", format_args!($($arg)*)))?
    };
}

/// Writes to stdout like `print!`; see `outln!`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cmd::write_stdout(&format!($($arg)*))?
    };
}

pub mod ceremony;
pub mod init;
pub mod jwks;
pub mod key;
pub mod ledger;
pub mod log;
pub mod manifest;
pub mod mint;
pub mod revocations;
pub mod revoke;
pub mod status;
pub mod verify;

use std::path::{Path, PathBuf};

use jiff::Timestamp;

/// What every command knows besides its own arguments.
pub struct Context {
    pub store: PathBuf,
    pub actor: String,
    pub now: Timestamp,
}

impl Context {
    /// Refuses an output given by `flag` that would land inside the store;
    /// commands call it before they read or change anything.
    pub fn refuse_output_in_store(
        &self,
        out: Option<&Path>,
        flag: &str,
    ) -> crate::error::Result<()> {
        match out {
            Some(out) => crate::store::refuse_output_inside(&self.store, out, flag),
            None => Ok(()),
        }
    }
}

/// Prints a JSON document on stdout, for `--json`.
pub fn print_json(value: &impl serde::Serialize) -> crate::error::Result<()> {
    use std::io::Write;
    // Streamed rather than built as one string: a batch's report lists
    // every token, and is written as its entries are made.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut stdout, value)
        .map_err(std::io::Error::from)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    stdout_result(written)
}

/// Writes the product to stdout. A reader that went away (`covenant log |
/// head`) is reported as `Error::OutputClosed`, which ends the command
/// quietly; any other failure (a full disk behind a redirection) is an
/// error like any other.
pub fn write_stdout(text: &str) -> crate::error::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout_result(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
    )
}

fn stdout_result(written: std::io::Result<()>) -> crate::error::Result<()> {
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(crate::error::Error::OutputClosed)
        }
        Err(e) => Err(crate::error::Error::io("write", "stdout", e)),
    }
}

/// A timestamp as people read it: RFC 3339 in UTC.
pub fn show_time(t: Timestamp) -> String {
    t.to_string()
}

/// Longest free text (a reason, an actor) accepted for the ledger.
const MAX_LEDGER_TEXT: usize = 1000;

/// Checks free text that goes into the ledger, such as a `--reason`: one
/// line of visible text. Control characters could rewrite an auditor's
/// terminal when the ledger is read, and newlines could forge lines in
/// `covenant log`.
pub fn ledger_text(text: &str) -> std::result::Result<String, String> {
    if text.trim().is_empty() {
        return Err("it may not be empty".into());
    }
    if text.chars().count() > MAX_LEDGER_TEXT {
        return Err(format!("it may be at most {MAX_LEDGER_TEXT} characters"));
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() || crate::contract::is_invisible(*c))
    {
        return Err(format!(
            "it may not contain control or invisible characters (found U+{:04X})",
            c as u32
        ));
    }
    Ok(text.to_string())
}
