//! Ceremony transcripts: what happened in the room, step by step, signed by
//! the root key and linked into the ledger (docs/ceremonies.md).
//!
//! A transcript is one line of RFC 8785 canonical JSON: a `body` and the
//! root's Ed25519 `signature` over the body's canonical bytes (domain
//! `covenant/transcript/v1:`). The body embeds the script's text, so the
//! transcript alone shows what the room was meant to do. It names the
//! ledger head before the ceremony, after each step, and after the last
//! one; the `ceremony.completed` record that follows that last head names
//! the body's SHA-256. The link therefore runs both ways: the transcript
//! cannot be swapped for another, and the ledger cannot lose it unnoticed.
//!
//! The Markdown rendering is for printing and signing by hand; the JSON is
//! the record that verifies.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ceremony::script::{self, Script};
use crate::error::{Error, Result};
use crate::jwk::Jwk;
use crate::ledger::{Event, Record};
use crate::root::{self, Purpose, RootSigner};
use crate::store::sha256_hex;

/// The `format` member of a transcript.
pub const FORMAT: &str = "covenant-ceremony-transcript";
/// The transcript format version this code writes and reads.
pub const VERSION: u64 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub body: Body,
    pub format: String,
    pub signature: Signature,
    pub version: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub alg: String,
    /// The signing root's fingerprint, for people; the key itself is the
    /// body's `root`.
    pub fingerprint: String,
    /// base64url, unpadded.
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub ceremony: Ceremony,
    pub finished: String,
    pub inputs: Vec<InputValue>,
    pub ledger: Link,
    /// A rehearsal ran against a throwaway copy of the store.
    pub rehearsal: bool,
    pub roles: Vec<Holder>,
    /// The root key's public JWK.
    pub root: Value,
    pub started: String,
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ceremony {
    pub name: String,
    pub script: String,
    pub script_file: String,
    pub script_sha256: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputValue {
    pub id: String,
    /// The SHA-256 of a file input's content.
    pub sha256: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    pub name: String,
    pub role: String,
    pub title: String,
}

/// A point in the ledger: the number of records and the last one's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadRef {
    pub head: String,
    pub records: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The ledger's head once every step ran; `ceremony.completed` comes
    /// next.
    pub after: HeadRef,
    /// None when the ceremony created the store.
    pub before: Option<HeadRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    pub action: Option<ActionRecord>,
    pub check: Option<String>,
    pub confirmations: Vec<Confirmation>,
    pub finished: String,
    pub id: String,
    /// The head after the step, once a store exists.
    pub ledger: Option<HeadRef>,
    pub started: String,
    pub title: String,
    /// Fingerprints and key ids, in hex and PGP words.
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRecord {
    pub actor: String,
    /// The script's command line with its inputs filled in.
    pub argv: Vec<String>,
    /// Files the action wrote to the output directory, with digests.
    pub files: Vec<FileDigest>,
    /// What the command printed on stdout: JSON when it offers `--json`.
    pub output: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    pub name: String,
    pub role: String,
    pub time: String,
}

impl Body {
    /// The canonical bytes that the signature and the ledger cover.
    pub fn canonical(&self) -> Vec<u8> {
        serde_jcs::to_vec(self).expect("transcripts always serialise")
    }

    /// The SHA-256 that `ceremony.completed` records.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.canonical())
    }
}

impl Document {
    /// Signs a body with the root key.
    pub fn sign(body: Body, signer: &RootSigner) -> Document {
        let sig = signer.sign(Purpose::Transcript, &body.canonical());
        Document {
            body,
            format: FORMAT.into(),
            signature: Signature {
                alg: "EdDSA".into(),
                fingerprint: root::fingerprint(signer.jwk()),
                value: URL_SAFE_NO_PAD.encode(sig),
            },
            version: VERSION,
        }
    }

    /// The file's content: one canonical JSON line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_jcs::to_vec(self).expect("transcripts always serialise");
        bytes.push(b'\n');
        bytes
    }

    /// Reads a transcript file, refusing anything but the exact canonical
    /// form, so that every byte of the file is covered by a check.
    pub fn read(path: &Path) -> Result<Document> {
        let bytes = fs::read(path).map_err(|e| Error::io("read", path, e))?;
        let reject = |why: String| Error::Rejected(format!("{}: {why}", path.display()));
        let doc: Document = serde_json::from_slice(&bytes)
            .map_err(|e| reject(format!("not a covenant transcript: {e}")))?;
        if doc.format != FORMAT || doc.version != VERSION {
            return Err(reject(format!(
                "format {:?} version {} is not {FORMAT} version {VERSION}",
                doc.format, doc.version
            )));
        }
        if doc.to_bytes() != bytes {
            return Err(reject(
                "the file is not in canonical (RFC 8785) form: it was edited".into(),
            ));
        }
        Ok(doc)
    }
}

/// What a verified transcript says, for the report.
#[derive(Debug)]
pub struct Verified {
    pub name: String,
    pub rehearsal: bool,
    pub steps: usize,
    pub sha256: String,
    pub completed_record: u64,
}

/// Checks a transcript: the pinned root signed it, it followed the script
/// it embeds, and `records` (a ledger, in order) holds its link.
pub fn verify(
    path: &Path,
    trusted: &str,
    records: impl FnOnce(&mut dyn FnMut(&Record) -> Result<()>) -> Result<()>,
) -> Result<Verified> {
    let doc = Document::read(path)?;
    let reject = |why: String| Error::Rejected(format!("{}: {why}", path.display()));

    let root = Jwk::from_json(&doc.body.root).map_err(|e| reject(format!("root key: {e}")))?;
    if root::fingerprint(&root) != trusted {
        return Err(reject(format!(
            "signed by root {}, not the pinned root {trusted}",
            root::fingerprint(&root)
        )));
    }
    let sig = URL_SAFE_NO_PAD
        .decode(&doc.signature.value)
        .map_err(|_| reject("the signature is not base64url".into()))?;
    if doc.signature.alg != "EdDSA"
        || doc.signature.fingerprint != trusted
        || !root::verify(&root, Purpose::Transcript, &doc.body.canonical(), &sig)
    {
        return Err(reject("the root signature does not verify".into()));
    }
    followed_script(&doc.body).map_err(reject)?;
    let completed_record = linked(&doc.body, records).map_err(|e| match e {
        Error::Rejected(why) => reject(why),
        other => other,
    })?;
    Ok(Verified {
        name: doc.body.ceremony.name.clone(),
        rehearsal: doc.body.rehearsal,
        steps: doc.body.steps.len(),
        sha256: doc.body.sha256(),
        completed_record,
    })
}

/// Checks that the transcript's steps are its script's steps, in order,
/// each confirmed by the roles the script names, each action the script's
/// command line.
pub fn followed_script(body: &Body) -> std::result::Result<(), String> {
    let c = &body.ceremony;
    if sha256_hex(c.script.as_bytes()) != c.script_sha256 {
        return Err("the embedded script does not match its digest".into());
    }
    let script = Script::parse(Path::new(&c.script_file), &c.script)
        .map_err(|e| format!("the embedded script is not valid: {e}"))?;
    if script.name != c.name || script.title != c.title {
        return Err("the ceremony's name or title is not the script's".into());
    }
    let roles: Vec<(&str, &str)> = body
        .roles
        .iter()
        .map(|h| (h.role.as_str(), h.title.as_str()))
        .collect();
    let expected: Vec<(&str, &str)> = script
        .roles
        .iter()
        .map(|r| (r.id.as_str(), r.title.as_str()))
        .collect();
    if roles != expected || body.roles.iter().any(|h| h.name.trim().is_empty()) {
        return Err("the role holders are not the script's roles, each named".into());
    }
    let ids: Vec<&str> = body.inputs.iter().map(|i| i.id.as_str()).collect();
    if ids
        != script
            .inputs
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>()
    {
        return Err("the inputs are not the script's".into());
    }
    if body.steps.len() != script.steps.len() {
        return Err(format!(
            "{} steps recorded, but the script has {}",
            body.steps.len(),
            script.steps.len()
        ));
    }
    let mut last = body.started.clone();
    for (n, (done, step)) in body.steps.iter().zip(&script.steps).enumerate() {
        step_followed(body, done, step, &mut last)
            .map_err(|why| format!("step {} ({}): {why}", n + 1, step.id))?;
    }
    if body.finished < last {
        return Err("the ceremony finished before its last step".into());
    }
    Ok(())
}

fn step_followed(
    body: &Body,
    done: &StepRecord,
    step: &script::Step,
    last: &mut String,
) -> std::result::Result<(), String> {
    if done.id != step.id || done.title != step.title {
        return Err("not the script's step at this place".into());
    }
    if done.check != step.check {
        return Err("its check is not the script's".into());
    }
    let value = |id: &str| {
        body.inputs
            .iter()
            .find(|i| i.id == id)
            .map_or(String::new(), |i| i.value.clone())
    };
    let argv = step.action.as_ref().map(|a| {
        a.iter()
            .map(|arg| script::substitute(arg, value))
            .collect::<Vec<_>>()
    });
    if done.action.as_ref().map(|a| &a.argv) != argv.as_ref() {
        return Err("its action is not the script's command line".into());
    }
    let roles: Vec<&str> = done.confirmations.iter().map(|c| c.role.as_str()).collect();
    if roles != step.confirm {
        return Err(format!(
            "confirmed by {}, but the script asks {}",
            roles.join(", "),
            step.confirm.join(", ")
        ));
    }
    for c in &done.confirmations {
        let holder = body.roles.iter().find(|h| h.role == c.role);
        if holder.map(|h| &h.name) != Some(&c.name) {
            return Err(format!("confirmed as {} by someone not holding it", c.role));
        }
    }
    // RFC 3339 UTC times of one format sort as text.
    let times = std::iter::once(&done.started)
        .chain(done.confirmations.iter().map(|c| &c.time))
        .chain(std::iter::once(&done.finished));
    for t in times {
        if *t < *last {
            return Err("its times run backwards".into());
        }
        *last = t.clone();
    }
    Ok(())
}

/// Finds the transcript's link in a ledger: the heads it names are the
/// ledger's, and the record after the last is `ceremony.completed` with
/// this transcript's digest. Returns that record's number.
fn linked(
    body: &Body,
    records: impl FnOnce(&mut dyn FnMut(&Record) -> Result<()>) -> Result<()>,
) -> Result<u64> {
    let mut heads: Vec<&HeadRef> = body.ledger.before.iter().collect();
    heads.extend(body.steps.iter().filter_map(|s| s.ledger.as_ref()));
    heads.push(&body.ledger.after);
    let completed_at = body.ledger.after.records;
    let digest = body.sha256();
    let mut problem: Option<String> = None;
    let mut found = false;
    records(&mut |record: &Record| {
        for h in heads.iter().filter(|h| h.records == record.seq + 1) {
            if h.head != record.hash && problem.is_none() {
                problem = Some(format!(
                    "the transcript names head {} at record {}, but the ledger has {}",
                    h.head, record.seq, record.hash
                ));
            }
        }
        if record.seq == completed_at {
            match &record.event {
                Event::CeremonyCompleted {
                    name,
                    script_sha256,
                    transcript_sha256,
                } if *transcript_sha256 == digest
                    && *name == body.ceremony.name
                    && *script_sha256 == body.ceremony.script_sha256 =>
                {
                    found = true
                }
                _ => {}
            }
        }
        Ok(())
    })?;
    if let Some(p) = problem {
        return Err(Error::Rejected(p));
    }
    if !found {
        return Err(Error::Rejected(format!(
            "the ledger has no ceremony.completed record for this transcript \
             (sha256 {digest}) at record {completed_at}"
        )));
    }
    Ok(completed_at)
}

/// The transcript as a printable Markdown document.
pub fn markdown(doc: &Document) -> String {
    let b = &doc.body;
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Ceremony transcript: {}\n", b.ceremony.title);
    if b.rehearsal {
        let _ = writeln!(w, "**REHEARSAL: run against a throwaway store.**\n");
    }
    let _ = writeln!(w, "| | |\n| --- | --- |");
    let _ = writeln!(w, "| ceremony | `{}` |", b.ceremony.name);
    let _ = writeln!(w, "| script | `{}` |", b.ceremony.script_file);
    let _ = writeln!(w, "| script sha256 | `{}` |", b.ceremony.script_sha256);
    let _ = writeln!(w, "| started | {} |", b.started);
    let _ = writeln!(w, "| finished | {} |", b.finished);
    let _ = writeln!(
        w,
        "| ledger before | {} |",
        b.ledger
            .before
            .as_ref()
            .map_or("(no store yet)".into(), |h| format!(
                "{} records, head `{}`",
                h.records, h.head
            ))
    );
    let _ = writeln!(
        w,
        "| ledger after | {} records, head `{}` |",
        b.ledger.after.records, b.ledger.after.head
    );
    let _ = writeln!(w, "| transcript sha256 | `{}` |\n", b.sha256());

    let _ = writeln!(
        w,
        "## Roles\n\n| role | held by | signature |\n| --- | --- | --- |"
    );
    for h in &b.roles {
        let _ = writeln!(w, "| {} | {} | |", h.title, h.name);
    }
    if !b.inputs.is_empty() {
        let _ = writeln!(w, "\n## Inputs\n");
    }
    for i in &b.inputs {
        let digest = i
            .sha256
            .as_ref()
            .map_or(String::new(), |s| format!(" (sha256 `{s}`)"));
        let _ = writeln!(w, "- {}: `{}`{digest}", i.id, i.value);
    }
    let _ = writeln!(w, "\n## Steps");
    for (n, s) in b.steps.iter().enumerate() {
        step_markdown(w, n + 1, s);
    }
    let _ = writeln!(w, "\n## Signature\n");
    let _ = writeln!(
        w,
        "Signed by the root key `{}` ({}).\n\nRoot key in PGP words: {}\n",
        crate::ceremony::words::grouped(&doc.signature.fingerprint),
        doc.signature.alg,
        hex::decode(&doc.signature.fingerprint)
            .map(|b| pgp_words::to_words(&b).join(" "))
            .unwrap_or_default()
    );
    let _ = writeln!(
        w,
        "Check it with `covenant ceremony verify transcript.json --trust <fingerprint>`."
    );
    md
}

fn step_markdown(w: &mut String, n: usize, s: &StepRecord) {
    let _ = writeln!(w, "\n### {n}. {} (`{}`)\n", s.title, s.id);
    let _ = writeln!(w, "- started {}, finished {}", s.started, s.finished);
    if let Some(check) = &s.check {
        let _ = writeln!(w, "- check `{check}`: passed");
    }
    if let Some(a) = &s.action {
        let _ = writeln!(w, "- action `covenant {}` by {}", a.argv.join(" "), a.actor);
        for f in &a.files {
            let _ = writeln!(w, "- wrote `{}`, sha256 `{}`", f.name, f.sha256);
        }
    }
    for v in &s.values {
        let _ = writeln!(
            w,
            "- {}: `{}`\n  ({})",
            v["label"].as_str().unwrap_or(""),
            crate::ceremony::words::grouped(v["hex"].as_str().unwrap_or("")),
            v["words"].as_str().unwrap_or("")
        );
    }
    if let Some(h) = &s.ledger {
        let _ = writeln!(w, "- ledger: {} records, head `{}`", h.records, h.head);
    }
    for c in &s.confirmations {
        let _ = writeln!(w, "- confirmed by {} ({}) at {}", c.name, c.role, c.time);
    }
}
