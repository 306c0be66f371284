//! `covenant ceremony`: run a scripted ceremony, check a script, verify a
//! transcript.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::ceremony::room::{Answers, Room, Terminal};
use crate::ceremony::run::{self, Options};
use crate::ceremony::script::Script;
use crate::ceremony::transcript;
use crate::cmd::{Context, print_json};
use crate::error::{Error, Result};
use crate::ledger::{self, Record};
use crate::{clock, manifest, root};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Walk the room through a ceremony script, step by step.
    Run(RunArgs),
    /// Check a script without running it, or list the shipped scripts.
    Check(CheckArgs),
    /// Verify a transcript: its signature, its script, its ledger link.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The script: a TOML file, or the name of a shipped one (see
    /// `covenant ceremony check --list`).
    #[arg(value_name = "SCRIPT")]
    script: String,

    /// Practise: run against a throwaway copy of the store, which is kept
    /// with the transcript; the real store is not touched.
    #[arg(long)]
    rehearse: bool,

    /// Take role holders, inputs and confirmations from this TOML file
    /// instead of the terminal (docs/ceremonies.md).
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,

    /// Read every passphrase the ceremony needs from this file instead of
    /// the terminal.
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,

    /// Where the transcript and the files the actions write go; a new
    /// directory. Defaults to ceremony-NAME-TIME.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The script to check: a TOML file or a shipped script's name.
    #[arg(value_name = "SCRIPT", required_unless_present = "list")]
    script: Option<String>,

    /// List the shipped scripts.
    #[arg(long)]
    list: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The transcript (transcript.json).
    #[arg(value_name = "TRANSCRIPT")]
    transcript: PathBuf,

    /// The root key's fingerprint, as `covenant init` printed it.
    #[arg(long, value_name = "FINGERPRINT")]
    trust: String,

    /// Find the ledger link in this exported manifest instead of the
    /// store's ledger.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,

    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Run(args) => run_ceremony(ctx, args),
        Command::Check(args) => check(args),
        Command::Verify(args) => verify(ctx, args),
    }
}

fn run_ceremony(ctx: &Context, args: RunArgs) -> Result<()> {
    let script = load(&args.script)?;
    let stamp = ctx.now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let kind = if args.rehearse {
        "rehearsal"
    } else {
        "ceremony"
    };
    let out_dir = args
        .out_dir
        .unwrap_or_else(|| PathBuf::from(format!("{kind}-{}-{stamp}", script.name)));
    ctx.refuse_output_in_store(Some(&out_dir), "--out-dir")?;
    let mut room: Box<dyn Room> = match &args.answers {
        Some(path) => Box::new(Answers::load(path, &script)?),
        None => Box::new(Terminal::open()?),
    };
    let opts = Options {
        script,
        store: ctx.store.clone(),
        rehearse: args.rehearse,
        passphrase_file: args.passphrase_file,
        out_dir,
    };
    let done = run::run(&opts, room.as_mut(), &clock::now)?;
    errln!(
        "\ncovenant: ceremony {} completed{}; transcript sha256 {}",
        opts.script.name,
        if opts.rehearse { " (rehearsal)" } else { "" },
        done.sha256
    );
    errln!(
        "covenant: transcript and outputs in {}",
        done.out_dir.display()
    );
    outln!("{}", done.transcript.display());
    Ok(())
}

/// A script from a file, or a shipped one by name.
fn load(name: &str) -> Result<Script> {
    let path = Path::new(name);
    if path.exists() {
        return Script::load(path);
    }
    match shipped(name) {
        Some(text) => Script::parse(&Path::new("ceremonies").join(format!("{name}.toml")), text),
        None => Err(Error::Usage(format!(
            "{name}: no such script file, and no shipped script of that name; \
             `covenant ceremony check --list` lists them"
        ))),
    }
}

/// The scripts shipped in `ceremonies/`, compiled in so that an air-gapped
/// machine has them with the binary.
const SHIPPED: [(&str, &str); 6] = [
    (
        "store-init",
        include_str!("../../ceremonies/store-init.toml"),
    ),
    (
        "key-generation",
        include_str!("../../ceremonies/key-generation.toml"),
    ),
    (
        "scheduled-rotation",
        include_str!("../../ceremonies/scheduled-rotation.toml"),
    ),
    (
        "partner-minting",
        include_str!("../../ceremonies/partner-minting.toml"),
    ),
    (
        "emergency-compromise",
        include_str!("../../ceremonies/emergency-compromise.toml"),
    ),
    (
        "key-destruction",
        include_str!("../../ceremonies/key-destruction.toml"),
    ),
];

fn shipped(name: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

fn check(args: CheckArgs) -> Result<()> {
    if args.list {
        for (name, text) in SHIPPED {
            let script = Script::parse(Path::new(name), text)?;
            outln!("{name:<22} {}", script.title);
        }
        return Ok(());
    }
    let name = args.script.expect("clap requires SCRIPT without --list");
    let script = load(&name)?;
    errln!(
        "covenant: {}: {} roles, {} steps; the script is valid",
        script.path.display(),
        script.roles.len(),
        script.steps.len()
    );
    outln!("{}", script.sha256);
    Ok(())
}

fn verify(ctx: &Context, args: VerifyArgs) -> Result<()> {
    let trusted = root::parse_fingerprint(&args.trust)?;
    let verified = match &args.manifest {
        Some(path) => {
            let report = manifest::verify(path, &trusted)?;
            if !report.ok() {
                return Err(Error::Rejected(format!(
                    "{}: the manifest is not valid; `covenant manifest verify` says why",
                    path.display()
                )));
            }
            transcript::verify(&args.transcript, &trusted, |visit| {
                manifest_records(path, visit)
            })?
        }
        None => {
            let path = ledger::path_in(&ctx.store);
            transcript::verify(&args.transcript, &trusted, |visit| {
                ledger::replay(&path, |r| visit(r)).map(drop)
            })?
        }
    };
    if args.json {
        print_json(&json!({
            "valid": true,
            "ceremony": verified.name,
            "rehearsal": verified.rehearsal,
            "steps": verified.steps,
            "transcript_sha256": verified.sha256,
            "ledger_record": verified.completed_record,
        }))?;
    } else {
        outln!(
            "transcript valid: ceremony {}{}, {} steps, signed by the pinned root, \
             recorded as ledger record {}",
            verified.name,
            if verified.rehearsal {
                " (rehearsal)"
            } else {
                ""
            },
            verified.steps,
            verified.completed_record
        );
    }
    Ok(())
}

/// The records of a manifest already verified: every line between its
/// header and its trailer.
fn manifest_records(path: &Path, visit: &mut dyn FnMut(&Record) -> Result<()>) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io("read", path, e))?;
    for line in lines.iter().skip(1).take(lines.len().saturating_sub(2)) {
        let record: Record = serde_json::from_str(line)
            .map_err(|e| Error::Rejected(format!("{}: {e}", path.display())))?;
        visit(&record)?;
    }
    Ok(())
}
