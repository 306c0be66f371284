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
use serde_json::{Value, json};

use super::{Args, check_publish_limit, entry, self_check, signing_key};
use crate::cmd::{Context, print_json};
use crate::contract::Contract;
use crate::custody::Unlock;
use crate::error::{Error, Result};
use crate::file;
use crate::state::Key;
use crate::store::{Access, Store};
use crate::token::{self, Minted, Minter};

/// A batch smaller than this shows no progress bar: it is over before a
/// bar would be read.
const PROGRESS_MIN: usize = 1000;

/// How many name collisions an error lists before summarising the rest.
const COLLISIONS_SHOWN: usize = 10;

/// One contract of the batch and the file its token goes to.
struct Item {
    path: PathBuf,
    /// The token's file name inside the output folder.
    name: PathBuf,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let out_dir = args
        .out_dir
        .clone()
        .expect("batch mode is chosen by --out-dir");
    let mut store = Store::open(&ctx.store, Access::Write)?;
    let key = signing_key(&store, ctx.now)?.clone();

    let items = expand(&args.contracts)?;
    check_out_dir(&out_dir, &items)?;
    let (indices, contracts, refusals) = check_all(&store, &key, &items, ctx);
    let total = items.len();
    if !refusals.is_empty() && (!args.keep_going || contracts.is_empty()) {
        return Err(Error::ContractsRefused {
            refused: refusals.len(),
            total,
            outcome: "nothing was minted. Fix them, or pass --keep-going to mint the others".into(),
        });
    }

    let unlock = Unlock::from_options(args.passphrase_file.clone(), args.identity.clone());
    unlock.check_for(key.kid(), &store.current_custody(key.kid())?)?;
    let signer = store.unlock(key.kid(), &unlock)?;
    let minter = Minter::new(&signer, &store.policy.issuer, ctx.now).map_err(|reason| {
        Error::KeyUnusable {
            kid: key.kid().to_string(),
            reason,
        }
    })?;

    let bar = progress_bar(contracts.len());
    bar.set_message("signing");
    let threads = token::batch_threads(contracts.len());
    let minted = token::mint_batch(&minter, &contracts, threads, &|n| bar.inc(n as u64)).map_err(
        |reason| Error::KeyUnusable {
            kid: key.kid().to_string(),
            reason,
        },
    )?;
    self_check(&store, &signer, &contracts[0], &minted[0], ctx.now)?;

    let entries = contracts
        .iter()
        .zip(&minted)
        .map(|(contract, token)| entry(ctx, key.kid(), contract, token))
        .collect();
    store.record(ctx.now, entries)?;

    bar.set_position(0);
    bar.set_message("writing");
    let names = indices.iter().map(|&i| items[i].name.as_path());
    write_tokens(&out_dir, names, &minted, &|| bar.inc(1))?;
    bar.finish_and_clear();

    for contract in &contracts {
        for warning in &contract.warnings {
            eprintln!("covenant: warning: {}: {warning}", contract.path.display());
        }
    }
    let done = Done {
        indices: &indices,
        contracts: &contracts,
        minted: &minted,
    };
    report(&args, &out_dir, &key, &items, &done, &refusals);
    if refusals.is_empty() {
        return Ok(());
    }
    Err(Error::ContractsRefused {
        refused: refusals.len(),
        total,
        outcome: format!(
            "the other {} tokens were minted into {}",
            minted.len(),
            out_dir.display()
        ),
    })
}

/// The contract files named on the command line, folders expanded to the
/// `*.toml` files directly in them, sorted by name so that the order (and
/// so the ledger's order) does not depend on the file system.
fn expand(args: &[PathBuf]) -> Result<Vec<Item>> {
    let mut paths = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            paths.push(arg.clone());
            continue;
        }
        let mut found = Vec::new();
        for dir_entry in std::fs::read_dir(arg).map_err(|e| Error::io("read", arg, e))? {
            let path = dir_entry.map_err(|e| Error::io("read", arg, e))?.path();
            if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
                found.push(path);
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
    paths.into_iter().map(item).collect()
}

/// acme.toml gives acme.jwt.
fn item(path: PathBuf) -> Result<Item> {
    let stem = path.file_stem().ok_or_else(|| {
        Error::Usage(format!(
            "{}: not a file name; name each contract file, such as acme.toml",
            path.display()
        ))
    })?;
    let mut name = PathBuf::from(stem);
    name.set_extension("jwt");
    Ok(Item { path, name })
}

/// Refuses the batch when the output folder cannot be made, or when two
/// tokens would share a file name or a name is already taken: covenant
/// never replaces a token, and finding out after signing would leave
/// tokens on record that were never handed out.
fn check_out_dir(dir: &Path, items: &[Item]) -> Result<()> {
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
    let mut first_source: HashMap<&Path, &Path> = HashMap::new();
    let mut collisions = Vec::new();
    for item in items {
        let target = dir.join(&item.name);
        if let Some(other) = first_source.insert(&item.name, &item.path) {
            collisions.push(format!(
                "{} and {} would both be written to {}",
                other.display(),
                item.path.display(),
                target.display()
            ));
        } else if target.exists() {
            collisions.push(format!(
                "{} would be written to {}, which exists",
                item.path.display(),
                target.display()
            ));
        }
    }
    if collisions.is_empty() {
        return Ok(());
    }
    let count = collisions.len();
    let mut shown: Vec<String> = collisions.into_iter().take(COLLISIONS_SHOWN).collect();
    if count > COLLISIONS_SHOWN {
        shown.push(format!("and {} more", count - COLLISIONS_SHOWN));
    }
    Err(Error::Usage(format!(
        "nothing was minted, because token files would collide: {}. covenant never \
         replaces a token; rename the contract files or choose another --out-dir",
        shown.join("; ")
    )))
}

/// Checks every contract, printing each refusal as it is found. Returns
/// the contracts that pass with their indices in `items`, and the
/// refusals as (index, message).
fn check_all(
    store: &Store,
    key: &Key,
    items: &[Item],
    ctx: &Context,
) -> (Vec<usize>, Vec<Contract>, Vec<(usize, String)>) {
    let mut indices = Vec::with_capacity(items.len());
    let mut passed = Vec::with_capacity(items.len());
    let mut refused = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match check_one(store, key, &item.path, ctx) {
            Ok(contract) => {
                indices.push(index);
                passed.push(contract);
            }
            Err(e) => {
                eprintln!("covenant: {e}");
                // The first line is the complete cause; the rest is the
                // source snippet, which is for people.
                let cause = e.to_string().lines().next().unwrap_or_default().to_string();
                refused.push((index, cause));
            }
        }
    }
    (indices, passed, refused)
}

fn check_one(store: &Store, key: &Key, path: &Path, ctx: &Context) -> Result<Contract> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
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
fn write_tokens<'a>(
    dir: &Path,
    names: impl Iterator<Item = &'a Path>,
    minted: &[Minted],
    done: &dyn Fn(),
) -> Result<()> {
    if !dir.exists() {
        file::create_private_dir(dir)?;
    }
    let parts: Vec<[&[u8]; 2]> = minted.iter().map(|m| [m.token.as_bytes(), b"\n"]).collect();
    let files = names.zip(&parts).map(|(name, parts)| (name, &parts[..]));
    file::write_new_files(dir, files, &mut || done())
}

/// What a batch minted: for each token, its contract's index in the
/// batch and the contract.
struct Done<'a> {
    indices: &'a [usize],
    contracts: &'a [Contract],
    minted: &'a [Minted],
}

/// Tells the operator, or a script with `--json`, what was minted.
fn report(
    args: &Args,
    out_dir: &Path,
    key: &Key,
    items: &[Item],
    done: &Done<'_>,
    refusals: &[(usize, String)],
) {
    if !args.json {
        eprintln!(
            "covenant: minted {} tokens with key {} into {}",
            done.minted.len(),
            key.kid(),
            out_dir.display()
        );
        return;
    }
    let tokens: Vec<Value> = (done.indices.iter().zip(done.contracts))
        .zip(done.minted)
        .map(|((&index, contract), token)| {
            json!({
                "contract": items[index].path,
                "out": out_dir.join(&items[index].name),
                "jti": token.jti,
                "sub": contract.partner,
                "aud": contract.audience,
                "scope": contract.scopes.join(" "),
                "nbf": contract.nbf.as_second(),
                "exp": contract.exp.as_second(),
                "token_sha256": token.sha256,
            })
        })
        .collect();
    let refused: Vec<Value> = refusals
        .iter()
        .map(|(index, error)| json!({ "contract": items[*index].path, "error": error }))
        .collect();
    print_json(&json!({
        "kid": key.kid(),
        "out_dir": out_dir,
        "minted": tokens,
        "refused": refused,
    }));
}
