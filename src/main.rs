//! The `covenant` binary: parse the command line, run it, turn the outcome
//! into an exit status. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = covenant::cli::Cli::parse();
    covenant::run(cli)
}
