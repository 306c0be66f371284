//! The audit ledger: an append-only, hash-chained record of every event.
//!
//! The ledger is a file of JSON lines, one record per line. Each record is
//! written in the JSON Canonicalization Scheme (RFC 8785) and carries
//! `seq` (0, 1, 2, ...), `time`, `actor`, `event`, `prev` and `hash`.
//! `hash` is the lowercase hex SHA-256 of the canonical JSON of the record
//! without its `hash` member; `prev` is the previous record's `hash`, and
//! sixty-four zeros for the first record. Changing, removing, inserting or
//! reordering a record therefore breaks the chain at a point the reader
//! can name. docs/ledger.md specifies the format for independent verifiers.
//!
//! A token is recorded by its SHA-256, never in full: tokens are bearer
//! secrets, and the ledger is meant to be read by auditors.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use ring::digest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::algorithm::Algorithm;
use crate::error::{Error, Result};
use crate::file;

/// The ledger's file name inside a store.
pub const FILE_NAME: &str = "ledger.jsonl";

/// `prev` of the first record.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event in the life of a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Adjacently tagged, and every variant's fields declared in alphabetical
// order: serde_json then writes exactly the RFC 8785 canonical form
// ("kind" sorts before "payload"), which the tests check against a JCS
// implementation. Canonical form can so be checked at the speed of
// serde_json, which matters when a manifest of millions of records is
// verified.
#[serde(tag = "kind", content = "payload", deny_unknown_fields)]
pub enum Event {
    /// The store was created with this issuer, policy and root key. The
    /// policy's text is recorded whole, so that the ledger alone tells
    /// which limits were in force when.
    #[serde(rename = "store.created")]
    StoreCreated {
        issuer: String,
        policy: String,
        policy_sha256: String,
        /// The root key's public JWK; it signs manifests, never tokens.
        root: Value,
    },
    /// A signing key was generated; its private half is sealed in
    /// `keys/<kid>.age`.
    #[serde(rename = "key.generated")]
    KeyGenerated {
        alg: Algorithm,
        custody: String,
        jwk: Value,
        kid: String,
    },
    /// A key became the signer, until `signs_until`.
    #[serde(rename = "key.activated")]
    KeyActivated {
        kid: String,
        /// The latest date its tokens may expire, when the policy bounds
        /// how long a key stays published.
        publish_limit: Option<i64>,
        signs_until: i64,
    },
    /// A token was minted. Times are NumericDates.
    #[serde(rename = "token.minted")]
    TokenMinted {
        aud: String,
        contract_id: String,
        contract_sha256: String,
        exp: i64,
        iat: i64,
        jti: String,
        kid: String,
        nbf: i64,
        scope: String,
        sub: String,
        token_sha256: String,
    },
    /// The policy file was changed; from this record on, this text rules.
    #[serde(rename = "policy.changed")]
    PolicyChanged {
        policy: String,
        policy_sha256: String,
    },
    /// The root key signed a manifest covering the records before this one.
    #[serde(rename = "manifest.exported")]
    ManifestExported {
        head: String,
        records: u64,
        sha256: String,
    },

    // Key lifecycle after activation, and revocations. These variants are
    // kept together, after the original four, so that other additions to
    // the ledger merge beside them rather than among them.
    /// A key stopped signing before its window ended: rotated away from,
    /// or retired by hand. It stays published while its tokens live.
    #[serde(rename = "key.retired")]
    KeyRetired { kid: String, reason: String },
    /// A key is compromised: it leaves the JWKS at once, and every token it
    /// signed counts as revoked.
    #[serde(rename = "key.revoked")]
    KeyRevoked { kid: String, reason: String },
    /// A key's private half was erased from the store. `forced` is true
    /// when tokens it signed were still valid at the time.
    #[serde(rename = "key.destroyed")]
    KeyDestroyed {
        forced: bool,
        kid: String,
        reason: String,
    },
    /// A key's private half was sealed again under new custody: `custody`
    /// is `passphrase` or `recipients`, and `recipients` lists the age X25519
    /// recipients (public keys) that can unlock it.
    #[serde(rename = "key.rewrapped")]
    KeyRewrapped {
        custody: String,
        kid: String,
        reason: String,
        recipients: Vec<String>,
    },
    /// One token was revoked.
    #[serde(rename = "token.revoked")]
    TokenRevoked { jti: String, reason: String },
    /// The root key signed a revocation list of `keys` keys and `tokens`
    /// tokens, as of the record `head`; `sha256` is the list's digest.
    #[serde(rename = "revocations.exported")]
    RevocationsExported {
        head: String,
        keys: u64,
        sha256: String,
        tokens: u64,
    },
    /// A scripted ceremony ran to its end. Its transcript, signed by the
    /// root key, names the ledger head just before this record; this record
    /// names the transcript's digest, which links the two both ways.
    #[serde(rename = "ceremony.completed")]
    CeremonyCompleted {
        name: String,
        script_sha256: String,
        transcript_sha256: String,
    },
    /// A scripted ceremony was stopped before its end; everything it did
    /// was discarded, and only this record remains.
    #[serde(rename = "ceremony.abandoned")]
    CeremonyAbandoned {
        name: String,
        reason: String,
        script_sha256: String,
        step: String,
    },
}

/// A ledger record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub actor: String,
    pub event: Event,
    pub hash: String,
    pub prev: String,
    pub seq: u64,
    pub time: Timestamp,
}

/// The fields that the hash covers: everything but the hash itself.
#[derive(Serialize)]
struct Body<'a> {
    actor: &'a str,
    event: &'a Event,
    prev: &'a str,
    seq: u64,
    time: Timestamp,
}

impl Record {
    fn seal(seq: u64, time: Timestamp, actor: &str, event: Event, prev: &str) -> Record {
        let hash = body_hash(&Body {
            seq,
            time,
            actor,
            event: &event,
            prev,
        });
        Record {
            seq,
            time,
            actor: actor.to_string(),
            event,
            prev: prev.to_string(),
            hash,
        }
    }

    /// The record as one canonical JSON line, with its newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("records always serialise");
        line.push(b'\n');
        line
    }
}

fn body_hash(body: &Body<'_>) -> String {
    let canonical = serde_json::to_vec(body).expect("records always serialise");
    hex::encode(digest::digest(&digest::SHA256, &canonical))
}

/// Where the chain ends: the last record's number and hash, and the
/// file's length, which a writer checks has not moved under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The number the next record will take.
    pub next_seq: u64,
    pub hash: String,
    pub len: u64,
}

/// Reads and checks the whole ledger, handing each record to `visit` in
/// order. Stops at the first break in the chain and names the record.
/// Records of an append that has not finished are not read.
pub fn replay(path: &Path, mut visit: impl FnMut(&Record) -> Result<()>) -> Result<Head> {
    // An append under way, or cut short, is not part of the ledger yet.
    let pending = Pending::read(path)?;
    let end = pending.as_ref().map_or(u64::MAX, |p| p.ledger_len);
    let head = replay_to(path, end, &mut visit)?;
    if let Some(pending) = pending
        && let Err(e) = pending.check(path, &head)
    {
        // Readers take no lock: the append may have finished, and another
        // begun, while this one read. The records up to the marker were
        // whole all the same. A marker still there that does not fit is
        // not covenant's, or not this ledger's.
        if Pending::read(path)?.as_ref() == Some(&pending) {
            return Err(e);
        }
    }
    Ok(head)
}

/// Replays the records in the first `end` bytes of the ledger.
fn replay_to(path: &Path, end: u64, visit: &mut impl FnMut(&Record) -> Result<()>) -> Result<Head> {
    let file = File::open(path).map_err(|e| Error::io("read the ledger", path, e))?;
    let mut reader = BufReader::new(file.take(end));
    let mut head = Head {
        next_seq: 0,
        hash: GENESIS_PREV.to_string(),
        len: 0,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io("read the ledger", path, e))?;
        if n == 0 {
            break;
        }
        let broken = |reason: String| ledger_error(path, head.next_seq, reason);
        if line.last() != Some(&b'\n') {
            return Err(broken(
                "the file ends in the middle of this record (an interrupted write or a \
                 truncation); docs/ledger.md, \"Durability\", says how to recover"
                    .into(),
            ));
        }
        let record = parse_line(&line, &head).map_err(broken)?;
        visit(&record)?;
        head.next_seq += 1;
        head.hash = record.hash;
        head.len += n as u64;
    }
    if head.next_seq == 0 {
        return Err(ledger_error(path, 0, "the ledger is empty".into()));
    }
    Ok(head)
}

/// Parses one ledger line (with its newline) and checks it against the
/// head of the chain before it: number, link, canonical form and hash.
///
/// The line is compared with the record's canonical serialisation, so
/// the bytes the hash covers can be taken from the line itself: the
/// canonical body is the line without its `,"hash":"…"` member. JCS sorts
/// members, and only `prev`, `seq` and `time` (none of which can contain
/// that text) follow `hash`, so the last occurrence is the member.
pub fn parse_line(line: &[u8], head: &Head) -> std::result::Result<Record, String> {
    let json = line.strip_suffix(b"\n").unwrap_or(line);
    let record: Record =
        serde_json::from_slice(json).map_err(|e| format!("not a valid record: {e}"))?;
    if record.seq != head.next_seq {
        return Err(format!(
            "its number is {}, expected {} (a record was removed, inserted or moved)",
            record.seq, head.next_seq
        ));
    }
    if record.prev != head.hash {
        return Err("its `prev` does not match the hash of the record before it".into());
    }
    if record.hash.len() != 64
        || !record
            .hash
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err("its `hash` is not 64 lowercase hex digits".into());
    }
    let canonical = serde_json::to_vec(&record).expect("records always serialise");
    if canonical != json {
        return Err("the record is not in canonical (RFC 8785) form".into());
    }
    const MEMBER: &[u8] = b",\"hash\":\"";
    let at = json
        .windows(MEMBER.len())
        .rposition(|w| w == MEMBER)
        .expect("a canonical record has a hash member");
    let end = at + MEMBER.len() + record.hash.len() + 1;
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&json[..at]);
    ctx.update(&json[end..]);
    if hex::encode(ctx.finish()) != record.hash {
        return Err("its content does not match its hash (the record was altered)".into());
    }
    Ok(record)
}

fn ledger_error(path: &Path, record: u64, reason: String) -> Error {
    Error::Ledger {
        path: path.to_path_buf(),
        record,
        reason,
    }
}

/// An event waiting to be appended, with who caused it.
pub struct Entry {
    pub actor: String,
    pub event: Event,
}

/// Appends entries to the ledger in one durable write and returns the new
/// head. The caller holds the store lock and passes the head it read; if
/// the file has changed since, nothing is written.
pub fn append(path: &Path, head: &Head, time: Timestamp, entries: Vec<Entry>) -> Result<Head> {
    let mut append = Append::begin(path, head, time)?;
    for entry in entries {
        append.push(entry)?;
    }
    append.commit()
}

/// An append in progress. Records are chained and written aside, to an
/// unnamed temporary file next to the ledger, and reach the ledger only in
/// [`Append::commit`]'s single copy and flush. A batch of any size so
/// costs the same memory, and a process stopped before the commit leaves
/// the ledger as it was.
pub struct Append<'a> {
    path: &'a Path,
    start: Head,
    next: Head,
    time: Timestamp,
    /// Written before the first entry, with that entry's actor.
    before_first: Option<Event>,
    aside: BufWriter<File>,
    /// SHA-256 of the lines written aside, for the pending marker.
    digest: digest::Context,
}

impl<'a> Append<'a> {
    /// Starts appending at `head`, which the caller read under the store
    /// lock.
    pub fn begin(path: &'a Path, head: &Head, time: Timestamp) -> Result<Append<'a>> {
        check_unmoved(path, head)?;
        let dir = file::parent_of(path);
        let aside = tempfile::tempfile_in(dir)
            .map_err(|e| Error::io("create a temporary file in", dir, e))?;
        Ok(Append {
            path,
            start: head.clone(),
            next: head.clone(),
            time,
            before_first: None,
            aside: BufWriter::with_capacity(ASIDE_BUFFER, aside),
            digest: digest::Context::new(&digest::SHA256),
        })
    }

    /// Records `event` just before the first entry, if any entry follows.
    pub fn before_first(&mut self, event: Event) {
        self.before_first = Some(event);
    }

    /// Chains `entry` onto the records before it.
    pub fn push(&mut self, entry: Entry) -> Result<()> {
        if let Some(event) = self.before_first.take() {
            self.seal(&entry.actor, event)?;
        }
        self.seal(&entry.actor, entry.event)
    }

    fn seal(&mut self, actor: &str, event: Event) -> Result<()> {
        let record = Record::seal(self.next.next_seq, self.time, actor, event, &self.next.hash);
        let line = record.to_line();
        self.aside
            .write_all(&line)
            .map_err(|e| Error::io("write a temporary file in", file::parent_of(self.path), e))?;
        self.digest.update(&line);
        self.next.next_seq += 1;
        self.next.len += line.len() as u64;
        self.next.hash = record.hash;
        Ok(())
    }

    /// How many records this append holds.
    pub fn len(&self) -> u64 {
        self.next.next_seq - self.start.next_seq
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds the records to the ledger in one copy, flushes it to disk and
    /// returns the new head.
    ///
    /// The copy is bracketed by the pending marker ([`PENDING_FILE`]), so
    /// that it counts only once it is whole and on disk. A copy that fails
    /// is undone here; one cut short by a kill or a power loss is undone
    /// by the next writer ([`roll_back_unfinished`]), and readers ignore
    /// it meanwhile. When this returns an error, the ledger is as it was,
    /// or will be as soon as the store is next opened for writing: nothing
    /// the records describe may leave the machine.
    pub fn commit(self) -> Result<Head> {
        if self.is_empty() {
            return Ok(self.start);
        }
        let dir = file::parent_of(self.path);
        let mut aside = self
            .aside
            .into_inner()
            .map_err(|e| Error::io("write a temporary file in", dir, e.into_error()))?;
        aside
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("read a temporary file in", dir, e))?;
        check_unmoved(self.path, &self.start)?;

        let added = self.next.len - self.start.len;
        let pending = pending_path(self.path);
        let marker = Pending {
            ledger_len: self.start.len,
            next_seq: self.start.next_seq,
            head: self.start.hash.clone(),
            added,
            added_sha256: hex::encode(self.digest.finish()),
        };
        let marker = serde_json::to_vec(&marker).expect("the marker serialises");
        file::write_atomic(&pending, &marker, file::Overwrite::Refuse)?;
        if let Err(e) = copy_in(self.path, &mut aside, added) {
            // If the undo fails too, the marker stays for the next writer.
            let _ = roll_back_unfinished(self.path);
            return Err(e);
        }
        std::fs::remove_file(&pending)
            .map_err(|e| Error::io("remove", &pending, e))
            .and_then(|()| file::sync_dir(dir))?;
        Ok(self.next)
    }
}

/// Copies `added` bytes of records from `aside` to the end of the ledger
/// and flushes the ledger to disk.
fn copy_in(path: &Path, aside: &mut File, added: u64) -> Result<()> {
    let mut ledger = file::open_append(path)?;
    let fail = |e| Error::io("append to the ledger", path, e);
    #[cfg(feature = "test-hooks")]
    if let Some(cut) = test_cut(&mut ledger, aside)? {
        return Err(fail(cut));
    }
    let copied = std::io::copy(aside, &mut ledger).map_err(fail)?;
    if copied != added {
        return Err(fail(std::io::Error::other(format!(
            "{copied} of the {added} bytes of records were copied"
        ))));
    }
    ledger.sync_data().map_err(fail)
}

/// Test builds can cut the copy into the ledger short, to check that an
/// interrupted append is undone: `COVENANT_TEST_LEDGER_CUT=error:N` copies
/// N bytes and then fails as a full disk would; `abort:N` copies N bytes,
/// flushes them, and ends the process on the spot as a kill would.
#[cfg(feature = "test-hooks")]
fn test_cut(ledger: &mut File, aside: &mut File) -> Result<Option<std::io::Error>> {
    use std::io::Read;
    let Ok(spec) = std::env::var("COVENANT_TEST_LEDGER_CUT") else {
        return Ok(None);
    };
    let (mode, bytes) = spec
        .split_once(':')
        .and_then(|(mode, n)| Some((mode.to_string(), n.parse::<u64>().ok()?)))
        .expect("COVENANT_TEST_LEDGER_CUT is error:N or abort:N (test builds only)");
    let io = |e| Error::io("append to the ledger", "the test cut", e);
    std::io::copy(&mut aside.take(bytes), ledger).map_err(io)?;
    ledger.sync_data().map_err(io)?;
    if mode == "abort" {
        std::process::abort();
    }
    Ok(Some(std::io::Error::other("the test cut the copy short")))
}

/// The file beside the ledger that exists only while an append is being
/// copied in. It describes the append (where it starts, the record it
/// follows, its length and digest), so that an append cut short (the
/// process killed, the power lost, the disk full) can be undone: readers
/// stop where it starts, and the next writer cuts the ledger back there.
/// A marker that does not describe this ledger's last append (one restored
/// from a backup, or written by hand) is refused rather than obeyed, since
/// obeying it would cut records away.
pub const PENDING_FILE: &str = "ledger.pending";

/// Largest pending-append marker read: covenant's own is under 300 bytes.
const PENDING_MAX: u64 = 4096;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pending {
    /// The ledger's length before the append.
    ledger_len: u64,
    /// The number and hash of the record the append follows.
    next_seq: u64,
    head: String,
    /// The bytes the append adds, and their SHA-256.
    added: u64,
    added_sha256: String,
}

impl Pending {
    /// The marker of an append that has not finished, if one is under way
    /// or was cut short.
    fn read(ledger: &Path) -> Result<Option<Pending>> {
        let path = pending_path(ledger);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        }
        // As an input file: a FIFO or a device in the marker's place would
        // otherwise hang or flood every command, readers included.
        let bytes = file::read_input(&path, PENDING_MAX)
            .map_err(|e| stale_marker(ledger, e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| stale_marker(ledger, format!("it is not covenant's marker ({e})")))
    }

    /// Checks that the marker describes an append onto `head`, the ledger
    /// read up to the marker, and that what follows is no more than that
    /// append: some of its bytes, or all of them.
    fn check(&self, ledger: &Path, head: &Head) -> Result<()> {
        if (head.len, head.next_seq, head.hash.as_str())
            != (self.ledger_len, self.next_seq, self.head.as_str())
        {
            return Err(stale_marker(
                ledger,
                format!(
                    "it describes an append after record {} at byte {}, which is not \
                     where the ledger's records end",
                    self.next_seq.saturating_sub(1),
                    self.ledger_len
                ),
            ));
        }
        let fail = |e| Error::io("read the ledger", ledger, e);
        let mut file = File::open(ledger).map_err(fail)?;
        let current = file.metadata().map_err(fail)?.len();
        let end = self.ledger_len.saturating_add(self.added);
        if current > end {
            return Err(stale_marker(
                ledger,
                format!(
                    "it describes an append of {} bytes, and {} bytes follow",
                    self.added,
                    current - self.ledger_len
                ),
            ));
        }
        if current == end {
            file.seek(SeekFrom::Start(self.ledger_len)).map_err(fail)?;
            let mut ctx = digest::Context::new(&digest::SHA256);
            let mut buf = vec![0; 1 << 16];
            loop {
                let n = file.read(&mut buf).map_err(fail)?;
                if n == 0 {
                    break;
                }
                ctx.update(&buf[..n]);
            }
            if hex::encode(ctx.finish()) != self.added_sha256 {
                return Err(stale_marker(
                    ledger,
                    "the records after it are not the append it describes".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Refuses a marker that does not describe this ledger's unfinished
/// append, saying how to go on without losing a record.
fn stale_marker(ledger: &Path, why: String) -> Error {
    let marker = pending_path(ledger);
    ledger_error(
        ledger,
        0,
        format!(
            "{} does not describe an unfinished append of this ledger: {why}. Nothing was \
             changed. If no covenant command is running on this store, move {} out of the \
             store (keep it for the audit trail) and run `covenant ledger verify`",
            marker.display(),
            PENDING_FILE
        ),
    )
}

fn pending_path(ledger: &Path) -> PathBuf {
    file::parent_of(ledger).join(PENDING_FILE)
}

/// An append beside the ledger that has not finished (under way, or cut
/// short and waiting for the next writer to undo it): the number of the
/// record it follows and how many of its bytes the ledger holds so far.
/// For readers that should say why they stop short of the file's end.
pub fn unfinished(ledger: &Path) -> Result<Option<(u64, u64)>> {
    let Some(pending) = Pending::read(ledger)? else {
        return Ok(None);
    };
    let len = std::fs::metadata(ledger)
        .map_err(|e| Error::io("read the ledger", ledger, e))?
        .len();
    Ok(Some((
        pending.next_seq.saturating_sub(1),
        len.saturating_sub(pending.ledger_len),
    )))
}

/// An append that was cut short and undone.
#[derive(Debug)]
pub struct Undone {
    /// How many bytes of unfinished records were cut from the ledger.
    pub bytes: u64,
    /// Where those bytes were kept, when there were any.
    pub kept: Option<PathBuf>,
}

/// Undoes an append that was cut short: checks that the marker describes
/// it, keeps its bytes in a file beside the ledger for the audit trail,
/// cuts the ledger back to its length before the append and removes the
/// marker. Only a writer holding the store's lock may call this, so no
/// append is under way. Returns what was undone, if there was such an
/// append.
pub fn roll_back_unfinished(ledger: &Path) -> Result<Option<Undone>> {
    let Some(pending) = Pending::read(ledger)? else {
        return Ok(None);
    };
    let head = replay_to(ledger, pending.ledger_len, &mut |_| Ok(()))?;
    pending.check(ledger, &head)?;

    let fail = |e| Error::io("cut back the ledger", ledger, e);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(ledger)
        .map_err(fail)?;
    let current = file.metadata().map_err(fail)?.len();
    let kept = if current > pending.ledger_len {
        let mut tail = Vec::new();
        file.seek(SeekFrom::Start(pending.ledger_len))
            .and_then(|_| file.read_to_end(&mut tail))
            .map_err(fail)?;
        let path = file::parent_of(ledger).join(format!(
            "ledger.undone-{}-{}.jsonl",
            pending.next_seq,
            &pending.added_sha256[..16.min(pending.added_sha256.len())]
        ));
        file::write_atomic(&path, &tail, file::Overwrite::Allow)?;
        Some(path)
    } else {
        None
    };
    file.set_len(pending.ledger_len)
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    let marker = pending_path(ledger);
    std::fs::remove_file(&marker).map_err(|e| Error::io("remove", &marker, e))?;
    file::sync_dir(file::parent_of(ledger))?;
    Ok(Some(Undone {
        bytes: current - pending.ledger_len,
        kept,
    }))
}

/// The buffer between the records and their temporary file.
const ASIDE_BUFFER: usize = 256 * 1024;

/// Refuses to append when the ledger's length is not the one `head` was
/// read at: another writer, or a person, changed it.
fn check_unmoved(path: &Path, head: &Head) -> Result<()> {
    let current_len = std::fs::metadata(path)
        .map_err(|e| Error::io("read the ledger", path, e))?
        .len();
    if current_len != head.len {
        return Err(ledger_error(
            path,
            head.next_seq,
            "the ledger changed while this command ran; nothing was written".into(),
        ));
    }
    Ok(())
}

/// Chains entries onto `head`, returning the sealed records.
pub fn chain(head: &Head, time: Timestamp, entries: Vec<Entry>) -> (Vec<Record>, Head) {
    let mut next = head.clone();
    let mut records = Vec::with_capacity(entries.len());
    for entry in entries {
        let record = Record::seal(next.next_seq, time, &entry.actor, entry.event, &next.hash);
        next.next_seq += 1;
        next.hash = record.hash.clone();
        records.push(record);
    }
    (records, next)
}

/// The first record of a new ledger, as file content.
pub fn genesis(time: Timestamp, entries: Vec<Entry>) -> Vec<u8> {
    let empty = Head {
        next_seq: 0,
        hash: GENESIS_PREV.to_string(),
        len: 0,
    };
    let (records, _) = chain(&empty, time, entries);
    records.iter().flat_map(Record::to_line).collect()
}

/// The path of the ledger in a store directory.
pub fn path_in(store: &Path) -> PathBuf {
    store.join(FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: i64) -> Entry {
        Entry {
            actor: "officer".into(),
            event: Event::KeyActivated {
                kid: format!("k{n}"),
                signs_until: n,
                publish_limit: None,
            },
        }
    }

    fn write_ledger(dir: &Path, count: i64) -> PathBuf {
        let path = dir.join(FILE_NAME);
        let time = "2026-12-01T00:00:00Z".parse().unwrap();
        std::fs::write(&path, genesis(time, (0..count).map(entry).collect())).unwrap();
        path
    }

    /// Records are written with serde_json for speed; this holds them to
    /// the RFC 8785 form that the format promises, variant by variant.
    #[test]
    fn records_are_written_in_jcs_canonical_form() {
        let events = vec![
            Event::StoreCreated {
                issuer: "https://i.example".into(),
                policy: "issuer = \"x\"\n\t\u{1}é\u{7f}".into(),
                policy_sha256: "ab".into(),
                root: serde_json::json!({"x": "1", "kty": "OKP", "crv": "Ed25519"}),
            },
            Event::KeyGenerated {
                alg: Algorithm::PS256,
                custody: "passphrase".into(),
                jwk: serde_json::json!({"n": "AQ", "e": "AQAB", "kty": "RSA"}),
                kid: "k".into(),
            },
            entry(3).event,
            Event::TokenMinted {
                aud: "a".into(),
                contract_id: "C-\"1\"".into(),
                contract_sha256: "00".into(),
                exp: 253_402_300_799,
                iat: 1,
                jti: "j".into(),
                kid: "k".into(),
                nbf: 0,
                scope: "s t".into(),
                sub: "ümlaut / slash".into(),
                token_sha256: "11".into(),
            },
            Event::PolicyChanged {
                policy: "p".into(),
                policy_sha256: "cd".into(),
            },
            Event::ManifestExported {
                head: "h".into(),
                records: 9,
                sha256: "ef".into(),
            },
            Event::KeyRetired {
                kid: "k".into(),
                reason: "rotation".into(),
            },
            Event::KeyRevoked {
                kid: "k".into(),
                reason: "laptop \"lost\"".into(),
            },
            Event::KeyDestroyed {
                forced: true,
                kid: "k".into(),
                reason: "r".into(),
            },
            Event::KeyRewrapped {
                custody: "recipients".into(),
                kid: "k".into(),
                reason: "officers".into(),
                recipients: vec!["age1a".into(), "age1b".into()],
            },
            Event::TokenRevoked {
                jti: "j".into(),
                reason: "partner left".into(),
            },
            Event::RevocationsExported {
                head: "h".into(),
                keys: 1,
                sha256: "ab".into(),
                tokens: 2,
            },
            Event::CeremonyCompleted {
                name: "key-generation".into(),
                script_sha256: "01".into(),
                transcript_sha256: "02".into(),
            },
            Event::CeremonyAbandoned {
                name: "key-generation".into(),
                reason: "the witness said \"stop\"".into(),
                script_sha256: "01".into(),
                step: "generate".into(),
            },
        ];
        let head = Head {
            next_seq: 0,
            hash: GENESIS_PREV.into(),
            len: 0,
        };
        let time = "2026-12-01T00:00:00Z".parse().unwrap();
        let entries = events
            .into_iter()
            .map(|event| Entry {
                actor: "o".into(),
                event,
            })
            .collect();
        for record in chain(&head, time, entries).0 {
            let mut jcs = serde_jcs::to_vec(&record).unwrap();
            jcs.push(b'\n');
            assert_eq!(
                String::from_utf8(record.to_line()).unwrap(),
                String::from_utf8(jcs).unwrap()
            );
        }
    }

    #[test]
    fn chain_replays_and_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_ledger(dir.path(), 3);
        let head = replay(&path, |_| Ok(())).unwrap();
        assert_eq!(head.next_seq, 3);
        let time = "2026-12-02T00:00:00Z".parse().unwrap();
        let head2 = append(&path, &head, time, vec![entry(9)]).unwrap();
        assert_eq!(replay(&path, |_| Ok(())).unwrap(), head2);
    }

    #[test]
    fn every_single_byte_change_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_ledger(dir.path(), 3);
        let original = std::fs::read(&path).unwrap();
        for i in 0..original.len() {
            let mut bytes = original.clone();
            bytes[i] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
            assert!(
                replay(&path, |_| Ok(())).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn removal_reordering_and_truncation_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_ledger(dir.path(), 3);
        let original = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        let cases = [
            (format!("{}\n{}\n", lines[0], lines[2]), 1, "removed"),
            (
                format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2]),
                0,
                "removed, inserted or moved",
            ),
            (
                original[..original.len() - 5].to_string(),
                2,
                "middle of this record",
            ),
        ];
        for (content, record, reason) in cases {
            std::fs::write(&path, content).unwrap();
            match replay(&path, |_| Ok(())) {
                Err(Error::Ledger {
                    record: r,
                    reason: why,
                    ..
                }) => {
                    assert_eq!(r, record);
                    assert!(why.contains(reason), "{why}");
                }
                other => panic!("expected a ledger error, got {other:?}"),
            }
        }
    }
}
