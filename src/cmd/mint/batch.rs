//! `covenant mint --out-dir DIR CONTRACT...`: many tokens in one session.
//!
//! An operations team renewing a partner programme mints hundreds or
//! thousands of tokens at once. Unlocking the key is slow on purpose
//! (age's scrypt) and signing is fast, so a batch unlocks the key once and
//! then signs on every core. The steps, in order:
//!
//! 1. Expand folders to their `*.toml` files and work out each token's
//!    file name; refuse the whole batch if two tokens would share a name
//!    or a name is already taken, before anything else.
//! 2. Check every contract against the policy. A refusal names the file,
//!    line and field. By default one refusal stops the batch with nothing
//!    minted; with `--keep-going` the others go ahead.
//! 3. Unlock the key and sign, in the order the contracts were given.
//!    The first token is checked as a gateway would check it; the others
//!    come out of the same header bytes, the same serializer and the same
//!    parsed key, and ring checks each RSA signature itself against fault
//!    attacks before returning it.
//! 4. Append every token's record to the ledger in one durable write, so
//!    that every token written next is on record.
//! 5. Write the token files, flushed together.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde::ser::SerializeSeq;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{Args, check_publish_limit, entry, self_check, signing_key};
use crate::cmd::{Context, print_json};
use crate::contract::Contract;
use crate::custody::Unlock;
use crate::error::{Error, Result};
use crate::file;
use crate::state::Key;
use crate::store::{Access, Store};
use crate::token::{self, Drafts, Issued, Minter};

/// A batch smaller than this shows no progress bar: it is over before a
/// bar would be read.
const PROGRESS_MIN: usize = 1000;

/// How many name collisions an error lists before summarising the rest.
const COLLISIONS_SHOWN: usize = 10;

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let out_dir = args
        .out_dir
        .clone()
        .expect("batch mode is chosen by --out-dir");
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let key = signing_key(&store, ctx.now)?.clone();
    let kid = key.kid();

    let items = expand(&args.contracts)?;
    if args.json {
        require_utf8(items.iter().chain([&out_dir]))?;
    }
    ctx.refuse_output_in_store(Some(&out_dir), "--out-dir")?;
    check_out_dir(&out_dir, &items)?;
    let total = items.len();
    let Checked {
        indices,
        drafts,
        refusals,
    } = check_all(&store, &key, &items, ctx)?;
    let refused = |outcome: String| Error::ContractsRefused {
        refused: refusals.len(),
        total,
        outcome,
    };
    if !refusals.is_empty() && (!args.keep_going || drafts.is_empty()) {
        let outcome = if drafts.is_empty() {
            "nothing was minted, as none passed"
        } else {
            "nothing was minted. Fix them, or pass --keep-going to mint the others"
        };
        let nothing = Done {
            items: &items,
            indices: &[],
            tokens: &[],
            out_dir: &out_dir,
        };
        // The refusals are the report (each was printed as it was found;
        // --json gathers them); the error says why nothing was minted even
        // when the report could not be written.
        if args.json {
            let _ = report(&args, kid, &nothing, &refusals, &[]);
        }
        return Err(refused(outcome.into()));
    }

    let unlock = Unlock::from_options(args.passphrase_file.clone(), args.identity.clone());
    unlock.check_for(kid, &store.current_custody(kid)?)?;
    let mut out_folder = prepare_out_dir(&out_dir)?;
    let signer = store.unlock(kid, &unlock)?;
    let unusable = |reason: String| Error::KeyUnusable {
        kid: kid.to_string(),
        reason,
    };
    let minter = Minter::new(&signer).map_err(unusable)?;

    let bar = progress_bar(drafts.len());
    bar.set_message("signing");
    let threads = token::batch_threads(drafts.len());
    let tokens =
        token::mint_batch(&minter, drafts, threads, &|n| bar.inc(n as u64)).map_err(unusable)?;
    self_check(&store, &signer, &tokens[0], ctx.now)?;
    check_room(&out_dir, &tokens)?;

    store.record_with(ctx.now, |append| {
        for token in &tokens {
            let issued = Issued::read(token).map_err(unusable)?;
            append.push(entry(ctx, kid, &issued))?;
        }
        Ok(())
    })?;
    out_folder.keep = true;

    bar.set_position(0);
    bar.set_message("writing");
    let names = indices.iter().map(|&i| token_name(&items[i]));
    let written = std::cell::Cell::new(0);
    let delivered = write_tokens(&out_dir, names, &tokens, &|| {
        written.set(written.get() + 1);
        bar.inc(1);
    });
    bar.finish_and_clear();
    if let Err(e) = delivered {
        let written = written.get();
        let missing = jtis(&tokens[written..]);
        if args.json {
            let delivered = Done {
                items: &items,
                indices: &indices[..written],
                tokens: &tokens[..written],
                out_dir: &out_dir,
            };
            let _ = report(&args, kid, &delivered, &refusals, &missing);
        }
        return Err(undelivered(&e, &out_dir, tokens.len(), written, &missing));
    }

    let done = Done {
        items: &items,
        indices: &indices,
        tokens: &tokens,
        out_dir: &out_dir,
    };
    let reported = report(&args, kid, &done, &refusals, &[]);
    if refusals.is_empty() {
        return reported;
    }
    Err(refused(format!(
        "the other {} {} minted into {}",
        plural(tokens.len(), "token"),
        if tokens.len() == 1 { "was" } else { "were" },
        out_dir.display()
    )))
}

/// "1 token", "2 tokens".
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Refuses paths that are not UTF-8 before anything is done, when they
/// would have to be written into a JSON report.
pub(super) fn require_utf8<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> Result<()> {
    match paths.into_iter().find(|path| path.to_str().is_none()) {
        None => Ok(()),
        Some(path) => Err(Error::Usage(format!(
            "{}: the path is not UTF-8, so --json cannot report it; rename it, or leave out \
             --json",
            path.display()
        ))),
    }
}

/// The jti of each token, read back from the token itself.
fn jtis(tokens: &[Zeroizing<String>]) -> Vec<String> {
    tokens
        .iter()
        .map(|token| Issued::read(token).map_or_else(|e| format!("(unreadable: {e})"), |i| i.jti))
        .collect()
}

/// The error of a batch whose tokens are on record but whose token files
/// could not all be written: it lists every token that did not reach its
/// file, so that each can be revoked.
fn undelivered(
    cause: &Error,
    out_dir: &Path,
    total: usize,
    written: usize,
    missing: &[String],
) -> Error {
    Error::Usage(format!(
        "{cause}\n{written} of {total} token files were written to {}; the other {} {} on \
         record but not delivered. Revoke each with `covenant revoke JTI --reason undelivered` \
         before minting its contract again; their jtis, one per line:\n{}",
        out_dir.display(),
        plural(missing.len(), "token"),
        if missing.len() == 1 { "is" } else { "are" },
        missing.join("\n")
    ))
}

/// Refuses the batch, before any token is on record, when the output
/// folder's file system has no room for every token file: a disk that
/// fills up halfway would leave recorded tokens that nobody received.
/// Counted in the file system's blocks, one file at least one block, and
/// in free inodes where the file system counts them.
fn check_room(dir: &Path, tokens: &[Zeroizing<String>]) -> Result<()> {
    let Ok(fs) = rustix::fs::statvfs(dir) else {
        // A file system that cannot say is written to and, if it fills,
        // reported as any failed write is.
        return Ok(());
    };
    let block = fs.f_frsize.max(1);
    let needed: u64 = tokens
        .iter()
        .map(|t| (t.len() as u64 + 1).div_ceil(block))
        .sum();
    let files = tokens.len() as u64;
    let short_of_inodes = fs.f_files > 0 && fs.f_favail < files;
    if needed <= fs.f_bavail && !short_of_inodes {
        return Ok(());
    }
    let (inodes_needed, inodes_free) = if short_of_inodes {
        (
            format!(" and {files} inodes"),
            format!(" and {} inodes", fs.f_favail),
        )
    } else {
        Default::default()
    };
    Err(Error::Usage(format!(
        "{}: no room for the {} token files (about {} KiB{inodes_needed}); the file system \
         has {} KiB free{inodes_free}. Nothing was minted; free some space or choose another \
         --out-dir",
        dir.display(),
        files,
        needed * block / 1024,
        fs.f_bavail * block / 1024,
    )))
}

/// The contract files named on the command line, folders expanded to the
/// `*.toml` entries directly in them, sorted by name so that the order (and
/// so the ledger's order) does not depend on the file system.
///
/// Every `*.toml` entry is taken, whatever it is: one that is not a
/// regular file (a broken link, a folder) is then refused like any bad
/// contract, rather than left out of the batch without a word. A name
/// that only differs in case (`acme.TOML`) is not a contract, and is named
/// in a warning so that its absence is no surprise.
fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            paths.push(arg.clone());
            continue;
        }
        let mut found = Vec::new();
        for dir_entry in std::fs::read_dir(arg).map_err(|e| Error::io("read", arg, e))? {
            let path = dir_entry.map_err(|e| Error::io("read", arg, e))?.path();
            match path.extension() {
                Some(x) if x == "toml" => found.push(path),
                Some(x) if x.eq_ignore_ascii_case("toml") => errln!(
                    "covenant: warning: {}: not read, as only files named *.toml (in lower \
                     case) are contracts",
                    path.display()
                ),
                _ => {}
            }
        }
        if found.is_empty() {
            return Err(Error::Usage(format!(
                "{}: the folder holds no *.toml contract files",
                arg.display()
            )));
        }
        found.sort();
        paths.extend(found);
    }
    for path in &paths {
        if path.file_stem().is_none() {
            return Err(Error::Usage(format!(
                "{}: not a file name; name each contract file, such as acme.toml",
                path.display()
            )));
        }
    }
    Ok(paths)
}

/// The name of a contract's token file: acme.toml gives acme.jwt, and
/// acme.v2.toml gives acme.v2.jwt. Worked
/// out again when needed rather than kept, as a batch keeps little but its
/// tokens; `expand` has checked that every path has a file name.
fn token_name(contract: &Path) -> PathBuf {
    let mut name = contract.file_stem().unwrap_or_default().to_os_string();
    name.push(".jwt");
    PathBuf::from(name)
}

/// Refuses the batch when the output folder cannot be made, or when two
/// tokens would share a file name or a name is already taken: covenant
/// never replaces a token, and finding out after signing would leave
/// tokens on record that were never handed out.
fn check_out_dir(dir: &Path, items: &[PathBuf]) -> Result<()> {
    if dir.symlink_metadata().is_ok() && !dir.exists() {
        return Err(Error::Usage(format!(
            "{}: --out-dir is a symbolic link to nothing",
            dir.display()
        )));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: --out-dir names a file, not a folder",
            dir.display()
        )));
    }
    let parent = file::parent_of(dir);
    if !dir.exists() && !parent.is_dir() {
        return Err(Error::Usage(format!(
            "{}: no such directory to create --out-dir in",
            parent.display()
        )));
    }
    let mut first_source: HashMap<PathBuf, &Path> = HashMap::new();
    let mut collisions = Vec::new();
    for item in items {
        let name = token_name(item);
        let target = dir.join(&name);
        if name.as_os_str().len() > NAME_MAX {
            collisions.push(format!(
                "{}: the token file name would be longer than {NAME_MAX} bytes",
                item.display()
            ));
        } else if let Some(other) = first_source.insert(name, item) {
            collisions.push(format!(
                "{} and {} would both be written to {}",
                other.display(),
                item.display(),
                target.display()
            ));
        } else if target.symlink_metadata().is_ok() {
            collisions.push(format!(
                "{} would be written to {}, which exists",
                item.display(),
                target.display()
            ));
        }
    }
    collisions.extend(unfinished_files(dir, &first_source));
    if collisions.is_empty() {
        return Ok(());
    }
    let count = collisions.len();
    let mut shown: Vec<String> = collisions.into_iter().take(COLLISIONS_SHOWN).collect();
    if count > COLLISIONS_SHOWN {
        shown.push(format!("and {} more", count - COLLISIONS_SHOWN));
    }
    Err(Error::Usage(format!(
        "nothing was minted, because of the token files' names: {}. covenant never \
         replaces a token; rename the contract files or choose another --out-dir",
        shown.join("; ")
    )))
}

/// The longest file name most file systems take, in bytes.
const NAME_MAX: usize = 255;

/// Looks for token files that a batch stopped while writing them left
/// under their temporary names (`.NAME.jwt.<random>.covenant-tmp`). Each
/// may hold a token that is on record, and only a person can tell whether
/// it was meant to be handed out. One left for a name this batch would
/// write stops the batch: minting that contract again would put a second
/// live token on record beside one that nobody may hold. The others are
/// named in a warning.
fn unfinished_files(dir: &Path, names: &HashMap<PathBuf, &Path>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut blocking = Vec::new();
    let mut others = 0;
    for entry in entries.filter_map(|entry| entry.ok()) {
        let file_name = entry.file_name();
        let Some(name) = file_name
            .to_str()
            .and_then(|n| n.strip_suffix(&format!(".{}", file::TEMP_MARK)))
            .and_then(|n| n.strip_prefix('.'))
            .and_then(|n| n.rsplit_once('.'))
            .map(|(token_name, _random)| PathBuf::from(token_name))
        else {
            continue;
        };
        match names.get(&name) {
            Some(contract) => blocking.push(format!(
                "{} would be written to {}, and {} is an unfinished file of that token \
                 left by a batch that was stopped: deliver it or revoke it first (see \
                 docs/contracts.md, \"Many contracts at once\")",
                contract.display(),
                dir.join(&name).display(),
                entry.path().display()
            )),
            None => others += 1,
        }
    }
    if others > 0 {
        errln!(
            "covenant: warning: {} holds {} (named .NAME.jwt.*.{}) left by a batch stopped \
             while writing them; see docs/contracts.md, \"Many contracts at once\"",
            dir.display(),
            plural(others, "unfinished token file"),
            file::TEMP_MARK
        );
    }
    blocking
}

/// Creates the output folder if needed and checks that a file can be
/// made in it, before the key is unlocked: a folder that cannot take the
/// tokens would otherwise be found out only once they are on record.
fn prepare_out_dir(dir: &Path) -> Result<OutFolder<'_>> {
    let folder = OutFolder {
        dir,
        created: !dir.exists(),
        keep: false,
    };
    if folder.created {
        file::create_private_dir(dir)?;
    }
    file::new_temp_in(dir)?;
    Ok(folder)
}

/// The output folder, removed again if this batch created it and stops
/// before any token is on record (a wrong passphrase, no room), so that a
/// batch that minted nothing leaves nothing behind.
struct OutFolder<'a> {
    dir: &'a Path,
    created: bool,
    /// Set once the tokens are on record.
    keep: bool,
}

impl Drop for OutFolder<'_> {
    fn drop(&mut self) {
        if self.created && !self.keep {
            // remove_dir takes only an empty folder, so nothing else can go.
            let _ = std::fs::remove_dir(self.dir);
        }
    }
}

/// What checking the batch left: for each contract that passed, its index
/// in the batch and its token's draft; for each refusal, the index and
/// the cause.
struct Checked {
    indices: Vec<usize>,
    drafts: Drafts,
    refusals: Vec<(usize, String)>,
}

/// Checks every contract, printing each refusal and warning as it is
/// found. A contract that passes is kept only as its token's draft. Fails
/// only when there is no memory left to keep a draft in.
fn check_all(store: &Store, key: &Key, items: &[PathBuf], ctx: &Context) -> Result<Checked> {
    let mut checked = Checked {
        indices: Vec::with_capacity(items.len()),
        drafts: Drafts::default(),
        refusals: Vec::new(),
    };
    let mut scratch = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match check_one(store, key, item, ctx) {
            Ok(contract) => {
                for warning in &contract.warnings {
                    errln!("covenant: warning: {}: {warning}", item.display());
                }
                checked.indices.push(index);
                let issuer = &store.policy.issuer;
                let pushed = checked
                    .drafts
                    .push(&contract, issuer, ctx.now, &mut scratch);
                if let Err(e) = pushed {
                    return Err(Error::io("keep the checked contract", item, e));
                }
            }
            Err(e) => {
                errln!("covenant: {e}");
                // The first line is the complete cause; the rest is the
                // source snippet, which is for people.
                let cause = e.to_string().lines().next().unwrap_or_default().to_string();
                checked.refusals.push((index, cause));
            }
        }
    }
    Ok(checked)
}

fn check_one(store: &Store, key: &Key, path: &Path, ctx: &Context) -> Result<Contract> {
    let bytes = crate::file::read_input(path, crate::file::MAX_INPUT)?;
    let contract = Contract::check(path, &bytes, &store.policy, ctx.now)?;
    check_publish_limit(key, &contract)
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    Ok(contract)
}

/// A bar on stderr for batches long enough to watch, and only when a
/// person is there to watch it.
fn progress_bar(len: usize) -> ProgressBar {
    if len < PROGRESS_MIN || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("covenant: {msg:8} [{bar:40}] {pos}/{len} ({eta})")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar
}

/// Writes each token, with a final newline, to its file.
fn write_tokens(
    dir: &Path,
    names: impl Iterator<Item = PathBuf>,
    tokens: &[Zeroizing<String>],
    done: &dyn Fn(),
) -> Result<()> {
    let files = names.zip(tokens).map(|(name, token)| {
        let parts: [&[u8]; 2] = [token.as_bytes(), b"\n"];
        (name, parts)
    });
    file::write_new_files(dir, files, &mut || done())
}

/// What a batch minted, for the report.
struct Done<'a> {
    items: &'a [PathBuf],
    /// For each token, its contract's index in `items`.
    indices: &'a [usize],
    tokens: &'a [Zeroizing<String>],
    out_dir: &'a Path,
}

/// Tells the operator, or a script with `--json`, what was minted, what
/// was refused, and which recorded tokens did not reach their files.
fn report(
    args: &Args,
    kid: &str,
    done: &Done<'_>,
    refusals: &[(usize, String)],
    undelivered: &[String],
) -> Result<()> {
    if !args.json {
        errln!(
            "covenant: minted {} with key {kid} into {}",
            plural(done.tokens.len(), "token"),
            done.out_dir.display()
        );
        return Ok(());
    }
    let refused: Vec<Value> = refusals
        .iter()
        .map(|(index, error)| json!({ "contract": done.items[*index], "error": error }))
        .collect();
    print_json(&Report {
        kid,
        out_dir: done.out_dir,
        minted: done,
        refused,
        undelivered,
    })
}

/// The `--json` document of a batch. Its `minted` list is written token by
/// token, each read back from the token itself, rather than built first.
#[derive(Serialize)]
struct Report<'a> {
    kid: &'a str,
    out_dir: &'a Path,
    minted: &'a Done<'a>,
    refused: Vec<Value>,
    /// The jtis of tokens on record whose files could not be written.
    undelivered: &'a [String],
}

impl Serialize for Done<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let entries = self.indices.iter().zip(self.tokens).map(|(&index, token)| {
            let item = &self.items[index];
            let issued = Issued::read(token).map_err(serde::ser::Error::custom)?;
            Ok(json!({
                "contract": item,
                "out": self.out_dir.join(token_name(item)),
                "jti": issued.jti,
                "sub": issued.sub,
                "aud": issued.aud,
                "scope": issued.scope,
                "nbf": issued.nbf,
                "exp": issued.exp,
                "token_sha256": issued.token_sha256,
            }))
        });
        let mut seq = serializer.serialize_seq(Some(self.tokens.len()))?;
        for entry in entries {
            seq.serialize_element(&entry?)?;
        }
        seq.end()
    }
}
