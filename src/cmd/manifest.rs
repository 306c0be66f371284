//! `covenant manifest`: export a signed manifest, and verify one anywhere.

use std::io::Write;
use std::path::PathBuf;

use crate::cmd::{Context, print_json, show_time};
use crate::error::{Error, Result};
use crate::file;
use crate::ledger::{Entry, Event};
use crate::manifest::{self, Report};
use crate::passphrase::PassphraseSource;
use crate::root;
use crate::store::{Access, Store};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Export the store's public state, signed by the root key.
    Export(ExportArgs),
    /// Verify a manifest with nothing but the root's pinned fingerprint.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write the manifest to this file (mode 0600) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Read the root key's passphrase from this file instead of the
    /// terminal.
    #[arg(long, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The manifest file.
    manifest: PathBuf,

    /// The root key's fingerprint, as `covenant init` printed it.
    #[arg(long, value_name = "FINGERPRINT")]
    trust: String,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Export(args) => export(ctx, args),
        Command::Verify(args) => verify(args),
    }
}

fn export(ctx: &Context, args: ExportArgs) -> Result<()> {
    ctx.refuse_output_in_store(args.out.as_deref(), "--out")?;
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let source = PassphraseSource::from_option(args.passphrase_file);
    source.check_available()?;
    let signer = root::unlock(&store, &source)?;
    let records = store.head().next_seq;
    let head = store.head().hash.clone();

    let sha256 = match &args.out {
        Some(path) => {
            let dir = file::parent_of(path);
            let mut tmp = tempfile::Builder::new()
                .prefix(".covenant-tmp-")
                .tempfile_in(dir)
                .map_err(|e| Error::io("create a temporary file in", dir, e))?;
            let mut writer = std::io::BufWriter::new(tmp.as_file_mut());
            let sha = manifest::export(&store, &signer, ctx.now, &mut writer)?;
            drop(writer);
            tmp.as_file()
                .sync_all()
                .map_err(|e| Error::io("write", path, e))?;
            file::persist_private(tmp, path)?;
            sha
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            let sha = manifest::export(&store, &signer, ctx.now, &mut lock)?;
            lock.flush().map_err(|e| Error::io("write", "stdout", e))?;
            sha
        }
    };
    store.record(
        ctx.now,
        vec![Entry {
            actor: ctx.actor.clone(),
            event: Event::ManifestExported {
                records,
                head,
                sha256: sha256.clone(),
            },
        }],
    )?;
    errln!(
        "covenant: manifest of {records} records signed by root {}",
        root::fingerprint(signer.jwk())
    );
    Ok(())
}

fn verify(args: VerifyArgs) -> Result<()> {
    let trusted = root::parse_fingerprint(&args.trust)?;
    let report = manifest::verify(&args.manifest, &trusted)?;
    if args.json {
        print_json(&report.to_json())?;
    } else {
        print_report(&report)?;
    }
    if report.ok() {
        Ok(())
    } else {
        Err(Error::Rejected(format!(
            "{}: the manifest is NOT valid: {}",
            args.manifest.display(),
            match (report.signed, report.problem_count) {
                (false, 0) => "the root signature does not verify".to_string(),
                (false, n) => format!("the root signature does not verify, and {n} problem(s)"),
                (true, n) => format!("{n} problem(s)"),
            }
        )))
    }
}

fn print_report(r: &Report) -> Result<()> {
    outln!("issuer       {}", r.issuer);
    outln!(
        "exported     {}",
        r.exported_at.map_or("-".into(), show_time)
    );
    outln!(
        "signature    {}",
        if r.signed {
            "valid (pinned root)"
        } else {
            "INVALID"
        }
    );
    outln!("records      {} (head {})", r.records, r.head);
    outln!("keys         {}", r.keys.len());
    for k in &r.keys {
        outln!(
            "  {}  {:<5}  {:<7}  tokens {}",
            k["kid"].as_str().unwrap_or(""),
            k["alg"].as_str().unwrap_or(""),
            k["state"].as_str().unwrap_or(""),
            k["tokens"]
        );
    }
    outln!("tokens       {}", r.tokens);
    for (partner, n) in &r.by_partner {
        outln!("  {partner}: {n}");
    }
    if r.problem_count == 0 {
        outln!("problems     none");
    } else {
        outln!("problems     {}", r.problem_count);
        for p in &r.problems {
            match p.record {
                Some(seq) => outln!("  record {seq}: {}", p.message),
                None => outln!("  {}", p.message),
            }
        }
    }
    Ok(())
}
