//! Running a ceremony: the room is walked through the script one step at a
//! time, every action runs against a staged copy of the store, and only a
//! ceremony whose every step was confirmed is swapped into place, signed
//! and linked into the ledger.
//!
//! Actions are covenant command lines. Each runs as a child process of this
//! very binary (`current_exe`, never a shell) with `--store` pointing at the
//! staged copy, `--json` where the command offers it so its results can be
//! recorded, and its working directory in the staged output directory, so
//! files it writes are kept only if the ceremony completes. The child asks
//! for passphrases itself, on the terminal; with `--passphrase-file` the
//! runner passes that file on.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Parser;
use jiff::Timestamp;
use serde_json::Value;

use crate::ceremony::check;
use crate::ceremony::room::{Flow, Room, Stop};
use crate::ceremony::script::{self, Script, Step};
use crate::ceremony::staging::{self, Staging};
use crate::ceremony::transcript::{
    ActionRecord, Body, Ceremony, Confirmation, Document, FileDigest, HeadRef, Holder, InputValue,
    Link, StepRecord,
};
use crate::ceremony::words::{self, Spoken};
use crate::cli::Cli;
use crate::cmd::show_time;
use crate::error::{Error, Result};
use crate::ledger::{self, Entry, Event};
use crate::passphrase::PassphraseSource;
use crate::root;
use crate::store::{Access, Store, sha256_hex};

/// What `covenant ceremony run` was asked to do.
pub struct Options {
    pub script: Script,
    pub store: PathBuf,
    pub rehearse: bool,
    pub passphrase_file: Option<PathBuf>,
    pub out_dir: PathBuf,
}

/// A completed ceremony: where its transcript is.
pub struct Completed {
    pub out_dir: PathBuf,
    pub transcript: PathBuf,
    pub sha256: String,
}

/// The role holders and inputs, once the room has given them.
struct Cast {
    holders: Vec<Holder>,
    inputs: Vec<InputValue>,
}

/// Runs a ceremony to its end, or abandons it: then nothing is kept but a
/// `ceremony.abandoned` record in the real store (none in a rehearsal).
pub fn run(opts: &Options, room: &mut dyn Room, now: &dyn Fn() -> Timestamp) -> Result<Completed> {
    let script = &opts.script;
    if opts.out_dir.exists() {
        return Err(Error::Usage(format!(
            "{}: the output directory exists; choose another with --out-dir",
            opts.out_dir.display()
        )));
    }
    let mut real = open_real(opts)?;
    for check in &script.preconditions {
        check::run(check, &opts.store, now()).map_err(|why| {
            Error::Usage(format!(
                "precondition {check} not met: {why}; the ceremony did not start"
            ))
        })?;
    }
    banner(opts);
    warn_leftovers(&opts.store);

    let outcome = walk(opts, room, now);
    match outcome {
        Ok((staging, sha256)) => {
            drop(real);
            deliver(opts, staging, sha256)
        }
        Err((step, stop)) => {
            let reason = match &stop {
                Stop::Abandon(why) => why.clone(),
                Stop::Fail(e) => e.to_string(),
            };
            errln!(
                "\ncovenant: ceremony {} ABANDONED at {step}: {reason}",
                script.name
            );
            errln!("covenant: nothing it did was kept; the store is as it was before");
            if let (Some(store), false) = (real.as_mut(), opts.rehearse) {
                store.record(
                    now(),
                    vec![Entry {
                        actor: "covenant ceremony".into(),
                        event: Event::CeremonyAbandoned {
                            name: script.name.clone(),
                            reason: reason.clone(),
                            script_sha256: script.sha256.clone(),
                            step: step.clone(),
                        },
                    }],
                )?;
                errln!("covenant: recorded ceremony.abandoned in the ledger");
            } else if real.is_none() && !opts.rehearse {
                errln!("covenant: there is no store yet to record the abandonment in");
            }
            Err(match stop {
                Stop::Fail(e) => e,
                Stop::Abandon(why) => Error::Usage(format!(
                    "ceremony {} abandoned at {step}: {why}",
                    script.name
                )),
            })
        }
    }
}

/// Opens the real store for writing, which holds its lock for the whole
/// ceremony: nothing else may change it while a copy is being worked on.
fn open_real(opts: &Options) -> Result<Option<Store>> {
    if opts.store.join(ledger::FILE_NAME).exists() {
        Store::open(&opts.store, Access::Write).map(Some)
    } else {
        Ok(None)
    }
}

fn banner(opts: &Options) {
    let s = &opts.script;
    errln!("\n== Ceremony: {}", s.title);
    if opts.rehearse {
        errln!("== REHEARSAL: against a throwaway store; the real store is not touched");
    }
    errln!("\n{}\n", s.purpose.trim());
    errln!("script  {}", s.path.display());
    errln!("sha256  {}", words::grouped(&s.sha256));
    errln!("\nRoles:");
    for r in &s.roles {
        errln!("  {:<14} {}: {}", r.id, r.title, r.duty);
    }
    errln!("\nAt any prompt, `abort` stops the ceremony; nothing it did is kept.\n");
}

/// Staging directories left by ceremonies that were killed hold nothing the
/// store needs; say so, so that no one wonders whether they matter.
fn warn_leftovers(store: &Path) {
    let parent = crate::file::parent_of(store);
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".covenant-ceremony-")
        {
            errln!(
                "covenant: note: {} was left by an interrupted ceremony; the store does not \
                 need it, and it can be removed",
                entry.path().display()
            );
        }
    }
}

type Walk<T> = std::result::Result<T, (String, Stop)>;

fn walk(
    opts: &Options,
    room: &mut dyn Room,
    now: &dyn Fn() -> Timestamp,
) -> Walk<(Staging, String)> {
    let before_steps = |stop| ("the roll call".to_string(), stop);
    let started = now();
    let cast = roll_call(&opts.script, room).map_err(before_steps)?;
    let staging = Staging::beside(&opts.store).map_err(|e| before_steps(e.into()))?;
    let before = head_of(&opts.store).map_err(|e| before_steps(e.into()))?;

    let mut records = Vec::new();
    let total = opts.script.steps.len();
    for (n, step) in opts.script.steps.iter().enumerate() {
        errln!(
            "\n== Step {} of {total}: {} [{}]",
            n + 1,
            step.title,
            step.id
        );
        let record = run_step(opts, step, &cast, &staging, room, now)
            .map_err(|stop| (step.id.clone(), stop))?;
        records.push(record);
    }
    let finish = |stop| ("the signature".to_string(), stop);
    match finish_ceremony(opts, cast, records, before, &staging, started, now) {
        Ok(sha256) => Ok((staging, sha256)),
        Err(e) => Err(finish(Stop::Fail(e))),
    }
}

/// Asks the room who holds each role and the value of each input.
fn roll_call(script: &Script, room: &mut dyn Room) -> Flow<Cast> {
    let mut holders = Vec::new();
    for role in &script.roles {
        let name = room.holder(role)?;
        holders.push(Holder {
            name,
            role: role.id.clone(),
            title: role.title.clone(),
        });
    }
    let mut inputs = Vec::new();
    for input in &script.inputs {
        let typed = room.input(input)?;
        let value = if input.file {
            let path = room.base().join(&typed);
            let path = fs::canonicalize(&path).map_err(|e| Error::io("read", &path, e))?;
            let bytes = crate::file::read_input(&path, crate::file::MAX_INPUT)?;
            let sha = sha256_hex(&bytes);
            errln!(
                "  {}: {} sha256 {}",
                input.id,
                path.display(),
                words::grouped(&sha)
            );
            InputValue {
                id: input.id.clone(),
                sha256: Some(sha),
                value: path.display().to_string(),
            }
        } else {
            InputValue {
                id: input.id.clone(),
                sha256: None,
                value: typed,
            }
        };
        inputs.push(value);
    }
    let cast = Cast { holders, inputs };
    // The script was checked with stand-ins for its inputs; check again
    // with the values given, before anything runs.
    for step in &script.steps {
        if let Some(template) = &step.action {
            let argv: Vec<String> = template
                .iter()
                .map(|a| script::substitute(a, |id| input_value(&cast, id)))
                .collect();
            script::check_action(&argv).map_err(|why| {
                Error::Usage(format!("step {}: with the inputs given, {why}", step.id))
            })?;
        }
    }
    Ok(cast)
}

fn run_step(
    opts: &Options,
    step: &Step,
    cast: &Cast,
    staging: &Staging,
    room: &mut dyn Room,
    now: &dyn Fn() -> Timestamp,
) -> Flow<StepRecord> {
    room.begin(step)?;
    let started = show_time(now());
    for line in step.say.trim().lines() {
        errln!("  | {line}");
    }
    if let Some(check) = &step.check {
        check::run(check, &staging.store(), now())
            .map_err(|why| Stop::Abandon(format!("check {check} failed: {why}")))?;
        errln!("  check {check}: passed");
    }
    let mut values = Vec::new();
    let action = match &step.action {
        Some(template) => {
            let argv: Vec<String> = template
                .iter()
                .map(|a| script::substitute(a, |id| input_value(cast, id)))
                .collect();
            let actor = actor(opts, step, cast);
            errln!("  action: covenant {}", argv.join(" "));
            errln!("  run by: {actor}");
            room.ready(step)?;
            let record = loop {
                match run_action(opts, &argv, &actor, staging, room.interactive())? {
                    Some(record) => break record,
                    None => room.retry(step)?,
                }
            };
            values = words::values_in(&record.output);
            show_results(&values, &record.files);
            Some(record)
        }
        None => None,
    };
    let ledger = head_of(&staging.store())?;

    let mut confirmations = Vec::new();
    for role_id in &step.confirm {
        let role = opts
            .script
            .role(role_id)
            .expect("the script checked its roles");
        let name = holder(cast, role_id);
        room.confirm(step, role, &name)?;
        errln!("  confirmed by {name}, {}", role.title);
        confirmations.push(Confirmation {
            name,
            role: role_id.clone(),
            time: show_time(now()),
        });
    }
    Ok(StepRecord {
        action,
        check: step.check.clone(),
        confirmations,
        finished: show_time(now()),
        id: step.id.clone(),
        ledger,
        started,
        title: step.title.clone(),
        values: values.iter().map(Spoken::to_json).collect(),
    })
}

fn show_results(values: &[Spoken], files: &[FileDigest]) {
    if !values.is_empty() {
        errln!("  Compare aloud:");
    }
    for v in values {
        errln!("    {}", v.label);
        errln!("      hex    {}", words::grouped(&v.hex));
        errln!("      words  {}", v.words);
    }
    for f in files {
        errln!("  wrote {} sha256 {}", f.name, words::grouped(&f.sha256));
    }
}

fn input_value(cast: &Cast, id: &str) -> String {
    cast.inputs
        .iter()
        .find(|i| i.id == id)
        .map_or(String::new(), |i| i.value.clone())
}

fn holder(cast: &Cast, role: &str) -> String {
    cast.holders
        .iter()
        .find(|h| h.role == role)
        .map_or(String::new(), |h| h.name.clone())
}

/// Who the ledger says acted: the holder of the step's `by` role (or its
/// first confirming role), with the role and the ceremony.
fn actor(opts: &Options, step: &Step, cast: &Cast) -> String {
    let role = step.by.as_ref().unwrap_or(&step.confirm[0]);
    let title = opts.script.role(role).map_or(role.as_str(), |r| &r.title);
    format!(
        "{} ({title}, ceremony {})",
        holder(cast, role),
        opts.script.name
    )
}

/// Runs one action as a child covenant. Returns None when it failed, after
/// the child has said why on stderr.
fn run_action(
    opts: &Options,
    argv: &[String],
    actor: &str,
    staging: &Staging,
    interactive: bool,
) -> Flow<Option<ActionRecord>> {
    let store = staging.store();
    let mut full: Vec<String> = vec![
        "--store".into(),
        store.display().to_string(),
        "--actor".into(),
        actor.into(),
    ];
    full.extend(argv.iter().cloned());
    // A command's results are recorded from its --json output. `mint` is
    // the exception: its JSON holds the token.
    if argv[0] != "mint" && accepts(&full, &["--json"]) {
        full.push("--json".into());
    }
    if let Some(file) = &opts.passphrase_file {
        let file = fs::canonicalize(file).map_err(|e| Error::io("read", file, e))?;
        let flag = ["--passphrase-file".to_string(), file.display().to_string()];
        if accepts(&full, &[&flag[0], &flag[1]]) {
            full.extend(flag);
        }
    }
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("find the covenant binary", "current_exe", e))?;
    let before = out_files(&staging.out())?;
    let output = Command::new(&exe)
        .args(&full)
        .current_dir(staging.out())
        .stdin(if interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::io("run", exe.clone(), e))?;
    if !output.status.success() {
        errln!("  the action failed ({})", output.status);
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&output.stdout)
        .replace(
            &store.display().to_string(),
            &opts.store.display().to_string(),
        )
        .replace(
            &staging.out().display().to_string(),
            &opts.out_dir.display().to_string(),
        );
    let output = serde_json::from_str::<Value>(&text)
        .unwrap_or_else(|_| Value::String(text.trim_end().to_string()));
    let after = out_files(&staging.out())?;
    let files = after
        .into_iter()
        .filter(|(name, sha)| before.get(name) != Some(sha))
        .map(|(name, sha256)| FileDigest { name, sha256 })
        .collect();
    Ok(Some(ActionRecord {
        actor: actor.into(),
        argv: argv.to_vec(),
        files,
        output,
    }))
}

/// Whether covenant's command line accepts `args` followed by `extra`.
fn accepts(args: &[String], extra: &[&str]) -> bool {
    let all = std::iter::once("covenant".to_string())
        .chain(args.iter().cloned())
        .chain(extra.iter().map(|s| s.to_string()));
    Cli::try_parse_from(all).is_ok()
}

/// The files in the output directory with their digests.
fn out_files(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))? {
        let path = entry
            .map_err(|e| Error::io("read directory", dir, e))?
            .path();
        if path.is_file() {
            let bytes = fs::read(&path).map_err(|e| Error::io("read", path.clone(), e))?;
            let name = path.file_name().expect("a file has a name");
            files.insert(name.to_string_lossy().into_owned(), sha256_hex(&bytes));
        }
    }
    Ok(files)
}

/// The ledger's head in `store`, or None before the store exists.
fn head_of(store: &Path) -> Result<Option<HeadRef>> {
    let path = ledger::path_in(store);
    if !path.exists() {
        return Ok(None);
    }
    let head = ledger::replay(&path, |_| Ok(()))?;
    Ok(Some(HeadRef {
        head: head.hash,
        records: head.next_seq,
    }))
}

/// Signs the transcript, records the ceremony in the staged ledger, and
/// puts the staged store in place. Returns the transcript's digest.
fn finish_ceremony(
    opts: &Options,
    cast: Cast,
    steps: Vec<StepRecord>,
    before: Option<HeadRef>,
    staging: &Staging,
    started: Timestamp,
    now: &dyn Fn() -> Timestamp,
) -> Result<String> {
    let staged = staging.store();
    let after = head_of(&staged)?
        .ok_or_else(|| Error::Usage("the ceremony ended without a store to record it in".into()))?;
    let script = &opts.script;
    let before_head = before.clone();
    let store = Store::open(&staged, Access::Read)?;
    let body = Body {
        ceremony: Ceremony {
            name: script.name.clone(),
            script: script.text.clone(),
            script_file: script
                .path
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
            script_sha256: script.sha256.clone(),
            title: script.title.clone(),
        },
        finished: show_time(now()),
        inputs: cast.inputs,
        ledger: Link { after, before },
        rehearsal: opts.rehearse,
        roles: cast.holders,
        root: store.state.root.to_json(),
        started: show_time(started),
        steps,
    };

    errln!("\n== Every step is confirmed. The root key signs the transcript.");
    let source = PassphraseSource::from_option(opts.passphrase_file.clone());
    source.check_available()?;
    let signer = root::unlock(&store, &source)?;
    drop(store);
    let doc = Document::sign(body, &signer);
    let sha256 = doc.body.sha256();

    let mut staged_store = Store::open(&staged, Access::Write)?;
    staged_store.record(
        now(),
        vec![Entry {
            actor: format!("covenant ceremony {}", script.name),
            event: Event::CeremonyCompleted {
                name: script.name.clone(),
                script_sha256: script.sha256.clone(),
                transcript_sha256: sha256.clone(),
            },
        }],
    )?;
    drop(staged_store);
    let out = staging.out();
    crate::file::write_atomic(
        &out.join("transcript.json"),
        &doc.to_bytes(),
        crate::file::Overwrite::Refuse,
    )?;
    crate::file::write_atomic(
        &out.join("transcript.md"),
        crate::ceremony::transcript::markdown(&doc).as_bytes(),
        crate::file::Overwrite::Refuse,
    )?;

    // The store is locked, so its ledger cannot have moved; a ledger that
    // did (edited by hand, or by a process that ignored the lock) would
    // lose records in the swap, so nothing is swapped.
    if !opts.rehearse && head_of(&opts.store)? != before_head {
        return Err(Error::Ledger {
            path: ledger::path_in(&opts.store),
            record: before_head.as_ref().map_or(0, |h| h.records),
            reason: "the ledger changed while the ceremony ran; nothing was kept".into(),
        });
    }
    if opts.rehearse {
        // The rehearsal's store goes with its transcript, so the team can
        // check the transcript against the ledger it links to.
        staging::copy_tree(&staged, &out.join("rehearsal-store"))?;
    } else {
        staging.commit(&opts.store)?;
    }
    Ok(sha256)
}

/// Moves the transcript and outputs of a ceremony that is already in the
/// store to the output directory. A failure here must not read as an
/// abandoned ceremony: the staging directory is kept, and the error says
/// where the transcript is.
fn deliver(opts: &Options, staging: Staging, sha256: String) -> Result<Completed> {
    let out = staging.out();
    if let Err(e) = move_dir(&out, &opts.out_dir) {
        let kept = staging.keep();
        return Err(Error::Usage(format!(
            "the ceremony completed and is in the ledger, but its transcript and outputs \
             could not be moved to {} ({e}); they are in {}",
            opts.out_dir.display(),
            kept.join("out").display()
        )));
    }
    Ok(Completed {
        transcript: opts.out_dir.join("transcript.json"),
        out_dir: opts.out_dir.clone(),
        sha256,
    })
}

/// Renames a directory into place, or copies it when the destination is
/// on another file system.
fn move_dir(from: &Path, to: &Path) -> Result<()> {
    match fs::rename(from, to) {
        Ok(()) => crate::file::sync_dir(crate::file::parent_of(to)),
        Err(_) => staging::copy_tree(from, to),
    }
}
