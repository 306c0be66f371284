//! One module per subcommand: its arguments and the code that runs it.

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

use std::path::PathBuf;

use jiff::Timestamp;

/// What every command knows besides its own arguments.
pub struct Context {
    pub store: PathBuf,
    pub actor: String,
    pub now: Timestamp,
}

/// Prints a JSON document on stdout, for `--json`.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values always serialise")
    );
}

/// A timestamp as people read it: RFC 3339 in UTC.
pub fn show_time(t: Timestamp) -> String {
    t.to_string()
}
