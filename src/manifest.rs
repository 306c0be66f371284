//! Signed manifests: the public state of a store, for auditors and
//! gateways, verifiable anywhere with nothing but a pinned fingerprint.
//!
//! A manifest is a text file of JSON lines (docs/manifest.md):
//!
//! 1. a header: format and version, issuer, root key, the policy in force,
//!    the export time, every key with its state and windows, the record
//!    count and the ledger's head;
//! 2. the ledger's records, byte for byte;
//! 3. a trailer: the SHA-256 of the header line and the root key's Ed25519
//!    signature over that digest.
//!
//! Signing the header is enough to cover every byte: the header names the
//! ledger's head, and the head's hash chains back through every record,
//! each of which must be in canonical form and match its own hash. The
//! verifier reads the file once with constant memory: it checks the chain
//! and the audit rules record by record, then that the chain ends at the
//! signed head and that the header says what the records imply.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use ring::digest;
use serde_json::{Value, json};

use crate::audit::{self, Auditor, Problem};
use crate::error::{Error, Result};
use crate::jwk::Jwk;
use crate::ledger::{self, Head};
use crate::root::{self, Purpose, RootSigner};
use crate::store::Store;

/// The `format` member of a manifest header.
pub const FORMAT: &str = "covenant-manifest";
/// The manifest format version this code writes and reads.
pub const VERSION: u64 = 1;

/// Writes a signed manifest of `store` to `out`. Returns the manifest's
/// digest.
pub fn export(
    store: &Store,
    signer: &RootSigner,
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<String> {
    let leeway = store.policy.leeway_seconds;
    let header = json!({
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.as_second(),
        "issuer": store.state.issuer,
        "root": signer.jwk().to_json(),
        "policy_sha256": store.state.policy_sha256,
        "leeway": leeway,
        "keys": audit::key_summaries(&store.state, now, leeway),
        "records": store.head().next_seq,
        "head": store.head().hash,
    });
    let mut header_line = serde_jcs::to_vec(&header).expect("JSON values always serialise");
    header_line.push(b'\n');
    let write_err = |e| Error::io("write", "the manifest", e);
    out.write_all(&header_line).map_err(write_err)?;

    // Copy the ledger as it was read, checking it again on the way.
    let path = store.ledger_path();
    let file = File::open(&path).map_err(|e| Error::io("read the ledger", &path, e))?;
    let mut reader = BufReader::new(file);
    let mut head = Head {
        next_seq: 0,
        hash: ledger::GENESIS_PREV.into(),
        len: 0,
    };
    let mut buf = Vec::new();
    while head.next_seq < store.head().next_seq {
        buf.clear();
        reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io("read the ledger", &path, e))?;
        let record = ledger::parse_line(&buf, &head).map_err(|reason| Error::Ledger {
            path: path.clone(),
            record: head.next_seq,
            reason,
        })?;
        head.next_seq += 1;
        head.hash = record.hash;
        out.write_all(&buf).map_err(write_err)?;
    }

    let digest_hex = hex::encode(digest::digest(&digest::SHA256, &header_line));
    let sig = signer.sign(Purpose::Manifest, digest_hex.as_bytes());
    out.write_all(&trailer_line(&signer.jwk().kid, &digest_hex, &sig))
        .and_then(|()| out.flush())
        .map_err(write_err)?;
    Ok(digest_hex)
}

/// The signature line, canonical JSON with its newline.
fn trailer_line(kid: &str, digest_hex: &str, sig: &[u8]) -> Vec<u8> {
    let trailer = json!({ "signature": {
        "alg": "EdDSA",
        "kid": kid,
        "sha256": digest_hex,
        "sig": URL_SAFE_NO_PAD.encode(sig),
    }});
    let mut line = serde_jcs::to_vec(&trailer).expect("JSON values always serialise");
    line.push(b'\n');
    line
}

/// The outcome of checking a manifest.
#[derive(Debug)]
pub struct Report {
    /// Whether the signature verified with the pinned root.
    pub signed: bool,
    pub issuer: String,
    pub exported_at: Option<Timestamp>,
    pub records: u64,
    pub head: String,
    pub keys: Vec<Value>,
    pub tokens: u64,
    pub by_partner: Vec<(String, u64)>,
    pub problems: Vec<Problem>,
    pub problem_count: u64,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.signed && self.problem_count == 0
    }

    pub fn to_json(&self) -> Value {
        json!({
            "valid": self.ok(),
            "signature_valid": self.signed,
            "issuer": self.issuer,
            "exported_at": self.exported_at.map(|t| t.to_string()),
            "records": self.records,
            "head": self.head,
            "tokens": self.tokens,
            "tokens_by_partner": self.by_partner.iter().map(|(p, n)| json!({"partner": p, "tokens": n})).collect::<Vec<_>>(),
            "keys": self.keys,
            "problem_count": self.problem_count,
            "problems": self.problems.iter().map(|p| json!({"record": p.record, "message": p.message})).collect::<Vec<_>>(),
        })
    }
}

/// A manifest that cannot even be read as one: wrong root, bad header,
/// broken chain, missing trailer. The message says what and where.
fn fatal(path: &Path, line: u64, reason: impl Into<String>) -> Error {
    Error::Ledger {
        path: path.to_path_buf(),
        record: line,
        reason: reason.into(),
    }
}

/// Verifies a manifest file against a pinned root fingerprint.
pub fn verify(path: &Path, trusted_fingerprint: &str) -> Result<Report> {
    let file = File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();

    // The header.
    read_line(&mut reader, &mut line, path)?;
    if line.is_empty() {
        return Err(fatal(path, 0, "the file is empty"));
    }
    let digest_hex = hex::encode(digest::digest(&digest::SHA256, &line));
    let header: Value = serde_json::from_slice(&line).map_err(|e| {
        Error::Usage(format!(
            "{}: line 1: not a manifest header: {e}",
            path.display()
        ))
    })?;
    if header["format"] != FORMAT || header["version"] != VERSION {
        return Err(Error::Usage(format!(
            "{}: not a covenant manifest of version {VERSION}",
            path.display()
        )));
    }
    let root = Jwk::from_json(&header["root"])
        .map_err(|e| Error::Usage(format!("{}: line 1: root key: {e}", path.display())))?;
    let fingerprint = root::fingerprint(&root);
    if fingerprint != trusted_fingerprint {
        return Err(Error::Rejected(format!(
            "{}: the manifest is signed by root {fingerprint}, not the pinned root {trusted_fingerprint}",
            path.display()
        )));
    }
    let exported_at = header["exported_at"]
        .as_i64()
        .and_then(|s| Timestamp::from_second(s).ok());
    let leeway = header["leeway"].as_i64().unwrap_or(0);

    // The records, until the trailer.
    let mut auditor = Auditor::default();
    let mut head = Head {
        next_seq: 0,
        hash: ledger::GENESIS_PREV.into(),
        len: 0,
    };
    let trailer = loop {
        read_line(&mut reader, &mut line, path)?;
        if line.is_empty() {
            return Err(fatal(
                path,
                head.next_seq,
                "the manifest ends without its signature (it was cut short)",
            ));
        }
        if line.starts_with(b"{\"signature\":") {
            break std::mem::take(&mut line);
        }
        let record = ledger::parse_line(&line, &head)
            .map_err(|reason| fatal(path, head.next_seq, reason))?;
        head.next_seq += 1;
        head.hash.clone_from(&record.hash);
        auditor.observe(&record);
    };
    read_line(&mut reader, &mut line, path)?;
    if !line.is_empty() {
        return Err(fatal(
            path,
            head.next_seq,
            "there is content after the signature",
        ));
    }

    // The signature over the header, which names the head of the chain.
    let trailer_json: Value = serde_json::from_slice(&trailer).map_err(|e| {
        fatal(
            path,
            head.next_seq,
            format!("the signature line is not JSON: {e}"),
        )
    })?;
    let sig = trailer_json["signature"]["sig"]
        .as_str()
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .unwrap_or_default();
    // The trailer must be exactly what the signer writes, so that no byte
    // of the file escapes the check, not even the unsigned `kid`.
    let signed = trailer == trailer_line(&root.kid, &digest_hex, &sig)
        && root::verify(&root, Purpose::Manifest, digest_hex.as_bytes(), &sig);

    if auditor.needs_second_pass() {
        second_pass(reader.into_inner(), path, &mut auditor)?;
    }
    let tokens = auditor.tokens;
    let by_partner: Vec<(String, u64)> = auditor
        .by_partner
        .iter()
        .map(|(p, n)| (p.clone(), *n))
        .collect();
    let records = auditor.records;
    let (state, mut problems, mut problem_count) = auditor.finish();

    // The header must say what the records say.
    let mut mismatch = |what: &str| {
        problem_count += 1;
        problems.push(Problem {
            record: None,
            message: format!("the header's {what} does not match the ledger"),
        });
    };
    if header["records"] != head.next_seq {
        mismatch("record count");
    }
    if header["head"] != head.hash.as_str() {
        mismatch("head");
    }
    let keys = match (&state, exported_at) {
        (Some(state), Some(at)) => {
            if header["issuer"] != state.issuer.as_str() {
                mismatch("issuer");
            }
            if state.root != root {
                mismatch("root key");
            }
            if header["policy_sha256"] != state.policy_sha256.as_str() {
                mismatch("policy digest");
            }
            let keys = audit::key_summaries(state, at, leeway);
            if header["keys"] != Value::Array(keys.clone()) {
                mismatch("key list");
            }
            keys
        }
        _ => {
            mismatch("content");
            Vec::new()
        }
    };

    Ok(Report {
        signed,
        issuer: header["issuer"].as_str().unwrap_or_default().to_string(),
        exported_at,
        records,
        head: head.hash,
        keys,
        tokens,
        by_partner,
        problems,
        problem_count,
    })
}

fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>, path: &Path) -> Result<()> {
    line.clear();
    reader
        .read_until(b'\n', line)
        .map_err(|e| Error::io("read", path, e))?;
    Ok(())
}

/// Re-reads the records for what the first pass could not settle (see
/// [`Auditor::needs_second_pass`]). It reads through the file already
/// open, so that a file renamed over the manifest between the passes is
/// not the one read again.
fn second_pass(mut file: File, path: &Path, auditor: &mut Auditor) -> Result<()> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("read", path, e))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    read_line(&mut reader, &mut line, path)?;
    loop {
        read_line(&mut reader, &mut line, path)?;
        if line.is_empty() || line.starts_with(b"{\"signature\":") {
            return Ok(());
        }
        if let Ok(record) =
            serde_json::from_slice::<ledger::Record>(line.strip_suffix(b"\n").unwrap_or(&line))
        {
            auditor.recheck(&record);
        }
    }
}
