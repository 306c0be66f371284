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
use std::io::{BufRead, BufReader, Write};
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
#[serde(tag = "kind", deny_unknown_fields)]
pub enum Event {
    /// The store was created with this issuer, policy and root key.
    #[serde(rename = "store.created")]
    StoreCreated {
        issuer: String,
        policy_sha256: String,
        /// The root key's public JWK; it signs manifests, never tokens.
        root: Value,
    },
    /// A signing key was generated; its private half is sealed in
    /// `keys/<kid>.age`.
    #[serde(rename = "key.generated")]
    KeyGenerated {
        kid: String,
        alg: Algorithm,
        jwk: Value,
        custody: String,
    },
    /// A key became the signer, until `signs_until`.
    #[serde(rename = "key.activated")]
    KeyActivated {
        kid: String,
        signs_until: i64,
        /// The latest date its tokens may expire, when the policy bounds
        /// how long a key stays published.
        publish_limit: Option<i64>,
    },
    /// A token was minted. Times are NumericDates.
    #[serde(rename = "token.minted")]
    TokenMinted {
        jti: String,
        kid: String,
        sub: String,
        aud: String,
        scope: String,
        iat: i64,
        nbf: i64,
        exp: i64,
        contract_id: String,
        contract_sha256: String,
        token_sha256: String,
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
        kid: String,
        reason: String,
        forced: bool,
    },
    /// A key's private half was sealed again under new custody: `custody`
    /// is `passphrase` or `recipients`, and `recipients` lists the age X25519
    /// recipients (public keys) that can unlock it.
    #[serde(rename = "key.rewrapped")]
    KeyRewrapped {
        kid: String,
        custody: String,
        recipients: Vec<String>,
        reason: String,
    },
    /// One token was revoked.
    #[serde(rename = "token.revoked")]
    TokenRevoked { jti: String, reason: String },
}

/// A ledger record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub seq: u64,
    pub time: Timestamp,
    pub actor: String,
    pub event: Event,
    pub prev: String,
    pub hash: String,
}

/// The fields that the hash covers: everything but the hash itself.
#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    time: Timestamp,
    actor: &'a str,
    event: &'a Event,
    prev: &'a str,
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

    /// Recomputes this record's hash from its content.
    pub fn computed_hash(&self) -> String {
        body_hash(&Body {
            seq: self.seq,
            time: self.time,
            actor: &self.actor,
            event: &self.event,
            prev: &self.prev,
        })
    }

    /// The record as one canonical JSON line, with its newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_jcs::to_vec(self).expect("records always serialise");
        line.push(b'\n');
        line
    }
}

fn body_hash(body: &Body<'_>) -> String {
    let canonical = serde_jcs::to_vec(body).expect("records always serialise");
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
pub fn replay(path: &Path, mut visit: impl FnMut(&Record) -> Result<()>) -> Result<Head> {
    let file = File::open(path).map_err(|e| Error::io("read the ledger", path, e))?;
    let mut reader = BufReader::new(file);
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
                "the file ends in the middle of this record (an interrupted write or a truncation)"
                    .into(),
            ));
        }
        let record: Record = serde_json::from_slice(&line[..n - 1])
            .map_err(|e| broken(format!("not a valid record: {e}")))?;
        check_link(&record, &head).map_err(broken)?;
        if record.to_line() != line {
            return Err(broken("the record is not in canonical form".into()));
        }
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

/// Checks one record against the head of the chain before it.
pub fn check_link(record: &Record, head: &Head) -> std::result::Result<(), String> {
    if record.seq != head.next_seq {
        return Err(format!(
            "its number is {}, expected {} (a record was removed, inserted or moved)",
            record.seq, head.next_seq
        ));
    }
    if record.prev != head.hash {
        return Err("its `prev` does not match the hash of the record before it".into());
    }
    if record.computed_hash() != record.hash {
        return Err("its content does not match its hash (the record was altered)".into());
    }
    Ok(())
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
    let (records, new_head) = chain(head, time, entries);
    let mut bytes = Vec::new();
    for record in &records {
        bytes.extend(record.to_line());
    }
    let mut file = file::open_append(path)?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_data())
        .map_err(|e| Error::io("append to the ledger", path, e))?;
    Ok(Head {
        len: head.len + bytes.len() as u64,
        ..new_head
    })
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
