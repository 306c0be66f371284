//! The rules an auditor checks over a ledger, one record at a time.
//!
//! The chain (ledger.rs) proves that nothing was changed, removed or
//! reordered; these rules prove that what was recorded was allowed: every
//! token was signed by a key inside its signing window, lives no longer
//! than the policy then in force allows, expires before its key may leave
//! the JWKS, names an audience and scopes from the policy, and has a jti
//! of its own. The checker keeps only per-key facts and a fixed-size filter
//! of jtis, so its memory does not grow with the number of records.

mod expiries;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::ledger::{Event, Record};
use crate::policy::Policy;
use crate::state::{Folder, State};
use crate::store::sha256_hex;
use expiries::LatestExpiries;

/// Most problems listed in a report; the count is always exact.
const MAX_LISTED_PROBLEMS: usize = 100;

/// Something wrong in a ledger, with the record it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub record: Option<u64>,
    pub message: String,
}

/// Folds records and checks the rules as they pass.
pub struct Auditor {
    folder: Folder,
    /// Revoked jtis, to find a token revoked twice and to leave revoked
    /// tokens out of a recount of live ones; revocations are few.
    revoked: HashSet<String>,
    policy: Option<Policy>,
    jtis: JtiFilter,
    /// Jtis the filter has seen before, with the records that carried them.
    suspects: HashMap<String, Vec<u64>>,
    /// Each key's latest-expiring live tokens, by kid: the streaming fold
    /// cannot see which token a revocation took away.
    expiries: HashMap<String, LatestExpiries>,
    pub records: u64,
    pub tokens: u64,
    pub by_partner: BTreeMap<String, u64>,
    problems: Vec<Problem>,
    problem_count: u64,
}

impl Default for Auditor {
    fn default() -> Self {
        Auditor {
            folder: Folder::streaming(),
            revoked: HashSet::new(),
            policy: None,
            jtis: JtiFilter::default(),
            suspects: HashMap::new(),
            expiries: HashMap::new(),
            records: 0,
            tokens: 0,
            by_partner: BTreeMap::new(),
            problems: Vec::new(),
            problem_count: 0,
        }
    }
}

impl Auditor {
    /// Checks one record (already known to be correctly chained).
    pub fn observe(&mut self, record: &Record) {
        self.records += 1;
        match &record.event {
            Event::StoreCreated {
                policy_sha256,
                policy,
                ..
            }
            | Event::PolicyChanged {
                policy_sha256,
                policy,
            } => {
                self.adopt_policy(record.seq, policy_sha256, policy);
            }
            Event::TokenMinted { .. } => self.check_token(record),
            Event::KeyActivated { kid, .. } => self.check_activation(record, kid),
            Event::KeyGenerated { .. }
            | Event::ManifestExported { .. }
            | Event::RevocationsExported { .. } => {}
            // The lifecycle rules for these are enforced by the state fold
            // below (src/state/lifecycle_rules.rs).
            Event::KeyRetired { .. }
            | Event::KeyRevoked { .. }
            | Event::KeyDestroyed { .. }
            | Event::KeyRewrapped { .. } => {}
            Event::TokenRevoked { jti, .. } => self.check_token_revocation(record.seq, jti),
            Event::CeremonyCompleted { .. } | Event::CeremonyAbandoned { .. } => {}
        }
        match self.folder.apply(record) {
            Ok(()) => self.track_expiry(&record.event),
            Err(message) => self.problem(Some(record.seq), message),
        }
    }

    /// Follows each key's latest live token through mints and
    /// revocations that the fold accepted.
    fn track_expiry(&mut self, event: &Event) {
        match event {
            // Looked up before inserting, so that the kid is copied once
            // per key rather than once per token.
            Event::TokenMinted { jti, kid, exp, .. } => match self.expiries.get_mut(kid) {
                Some(e) => e.minted(*exp, jti),
                None => {
                    let mut e = LatestExpiries::default();
                    e.minted(*exp, jti);
                    self.expiries.insert(kid.clone(), e);
                }
            },
            Event::TokenRevoked { jti, .. } => {
                // A jti is remembered by one key at most.
                let _ = self.expiries.values_mut().any(|e| e.revoked(jti));
            }
            _ => {}
        }
    }

    fn adopt_policy(&mut self, seq: u64, digest: &str, text: &str) {
        if sha256_hex(text.as_bytes()) != digest {
            self.problem(
                Some(seq),
                "the recorded policy text does not match its digest".into(),
            );
        }
        match Policy::parse(Path::new(&format!("ledger record {seq}: policy")), text) {
            Ok(policy) => self.policy = Some(policy),
            Err(d) => self.problem(Some(seq), format!("the recorded policy is invalid: {d}")),
        }
    }

    fn check_activation(&mut self, record: &Record, kid: &str) {
        let Some(state) = self.folder.state() else {
            return;
        };
        let overlapping: Vec<String> = state
            .keys
            .iter()
            .filter(|k| k.kid() != kid)
            .filter(|k| k.can_sign(record.time))
            .map(|k| k.kid().to_string())
            .collect();
        for other in overlapping {
            self.problem(
                Some(record.seq),
                format!("key {kid} is activated while key {other} can still sign"),
            );
        }
    }

    fn check_token(&mut self, record: &Record) {
        let Event::TokenMinted {
            jti,
            kid,
            sub,
            aud,
            scope,
            iat,
            nbf,
            exp,
            ..
        } = &record.event
        else {
            return;
        };
        self.tokens += 1;
        *self.by_partner.entry(sub.clone()).or_default() += 1;
        let seq = Some(record.seq);
        let mut found = Vec::new();

        if *iat != record.time.as_second() {
            found.push(format!(
                "token {jti}: iat {iat} differs from the record's time"
            ));
        }
        if exp <= nbf {
            found.push(format!("token {jti}: exp {exp} is not after nbf {nbf}"));
        }
        let at = |s: i64| Timestamp::from_second(s).unwrap_or(Timestamp::MAX);
        if let Some(key) = self.folder.state().and_then(|s| s.key(kid)) {
            match (key.activated, key.signs_until) {
                (Some(from), Some(until)) if from <= at(*iat) && at(*iat) < until => {}
                (Some(from), Some(until)) => found.push(format!(
                    "token {jti} was signed at {} by key {kid}, outside its signing window \
                     {from} to {until}",
                    at(*iat)
                )),
                _ => found.push(format!(
                    "token {jti} was signed by key {kid}, which was never activated"
                )),
            }
            if let Some(limit) = key.publish_limit
                && at(*exp) > limit
            {
                found.push(format!(
                    "token {jti} expires at {} but key {kid} may stay published only until {limit}",
                    at(*exp)
                ));
            }
        }
        if let Some(policy) = &self.policy {
            let latest = policy
                .max_token_lifetime
                .after(at(*nbf))
                .unwrap_or(Timestamp::MAX);
            if at(*exp) > latest {
                found.push(format!(
                    "token {jti} lives from {} to {}, longer than the policy's {}",
                    at(*nbf),
                    at(*exp),
                    policy.max_token_lifetime
                ));
            }
            if !policy.audiences.contains(aud) {
                found.push(format!(
                    "token {jti}: audience {aud:?} is not in the policy"
                ));
            }
            for s in scope
                .split(' ')
                .filter(|s| !policy.scopes.iter().any(|p| p == s))
            {
                found.push(format!("token {jti}: scope {s:?} is not in the policy"));
            }
        }
        if !self.jtis.insert(jti) {
            self.suspects
                .entry(jti.clone())
                .or_default()
                .push(record.seq);
        }
        for message in found {
            self.problem(seq, message);
        }
    }

    /// A revocation must name a token minted before it, and only once.
    /// "Minted before" is asked of the jti filter: a jti it has never seen
    /// was certainly never minted; one it has seen was minted, but for the
    /// filter's false positives (about one in a billion at a million
    /// tokens), which could only let a revocation of nothing pass.
    fn check_token_revocation(&mut self, seq: u64, jti: &str) {
        if !self.jtis.contains(jti) {
            self.problem(
                Some(seq),
                format!("the record revokes token {jti}, which was never minted"),
            );
        }
        if !self.revoked.insert(jti.to_string()) {
            self.problem(Some(seq), format!("token {jti} is revoked a second time"));
        }
    }

    /// Whether a second pass over the records is needed: to confirm the
    /// jtis the filter flagged as repeated, or to find the latest live
    /// token of a key whose latest ones were revoked.
    pub fn needs_second_pass(&self) -> bool {
        !self.suspects.is_empty() || self.expiries.values().any(|e| e.known().is_none())
    }

    /// Second pass: sees a token record again. Only flagged jtis and the
    /// keys that asked for a recount are tracked, so this stays small.
    /// When [`needs_second_pass`](Self::needs_second_pass) says so, every
    /// record must go through here before [`finish`](Self::finish).
    pub fn recheck(&mut self, record: &Record) {
        let Event::TokenMinted { jti, kid, exp, .. } = &record.event else {
            return;
        };
        if let Some(seqs) = self.suspects.get_mut(jti)
            && !seqs.contains(&record.seq)
        {
            seqs.push(record.seq);
        }
        if let Some(e) = self.expiries.get_mut(kid) {
            e.recount(*exp, jti, &self.revoked);
        }
    }

    /// Ends the audit: returns the folded state and the problems found.
    pub fn finish(mut self) -> (Option<State>, Vec<Problem>, u64) {
        let mut repeats: Vec<(String, Vec<u64>)> = std::mem::take(&mut self.suspects)
            .into_iter()
            .filter(|(_, seqs)| seqs.len() > 1)
            .collect();
        repeats.sort_by_key(|(_, seqs)| seqs.iter().min().copied());
        for (jti, mut seqs) in repeats {
            seqs.sort_unstable();
            let first = seqs[0];
            let list: Vec<String> = seqs.iter().map(u64::to_string).collect();
            self.problem(
                Some(first),
                format!("jti {jti} is used by records {}", list.join(", ")),
            );
        }
        let mut state = self.folder.finish();
        for key in state.iter_mut().flat_map(|s| s.keys.iter_mut()) {
            // A revoked key's tokens are all revoked with it.
            if key.revoked.is_some() {
                continue;
            }
            if let Some(e) = self.expiries.get(key.kid()) {
                key.last_live_exp = e.latest_live().and_then(|s| Timestamp::from_second(s).ok());
            }
        }
        (state, self.problems, self.problem_count)
    }

    fn problem(&mut self, record: Option<u64>, message: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(Problem { record, message });
        }
    }

    /// The state folded so far.
    pub fn state(&self) -> Option<&State> {
        self.folder.state()
    }
}

/// A Bloom filter over jtis: 16 MiB whatever the number of tokens. A jti it
/// has (probably) seen becomes a suspect, and the second pass counts the
/// suspects exactly, so a false positive costs time, never a wrong answer.
struct JtiFilter {
    bits: Vec<u64>,
}

const FILTER_BITS: usize = 1 << 27;
const FILTER_PROBES: u64 = 7;

impl Default for JtiFilter {
    fn default() -> Self {
        JtiFilter {
            bits: vec![0; FILTER_BITS / 64],
        }
    }
}

impl JtiFilter {
    /// Whether a jti may have been added.
    fn contains(&self, jti: &str) -> bool {
        let (h1, h2) = two_hashes(jti);
        (0..FILTER_PROBES).all(|i| {
            let bit = (h1.wrapping_add(i.wrapping_mul(h2)) % FILTER_BITS as u64) as usize;
            self.bits[bit / 64] & (1u64 << (bit % 64)) != 0
        })
    }

    /// Adds a jti; returns false when it may have been added before.
    fn insert(&mut self, jti: &str) -> bool {
        let (h1, h2) = two_hashes(jti);
        let mut fresh = false;
        for i in 0..FILTER_PROBES {
            let bit = (h1.wrapping_add(i.wrapping_mul(h2)) % FILTER_BITS as u64) as usize;
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            if self.bits[word] & mask == 0 {
                fresh = true;
                self.bits[word] |= mask;
            }
        }
        fresh
    }
}

fn two_hashes(jti: &str) -> (u64, u64) {
    // A fixed-key SipHash: the filter needs spread, not secrecy.
    let state =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
    let mut a = state.build_hasher();
    a.write(jti.as_bytes());
    let mut b = state.build_hasher();
    b.write_u8(0xa5);
    b.write(jti.as_bytes());
    (a.finish(), b.finish() | 1)
}

/// One key as a manifest lists it and an auditor expects to find it.
pub fn key_summaries(state: &State, now: Timestamp, leeway: i64) -> Vec<Value> {
    let t = |t: Option<Timestamp>| t.map(|t| t.as_second());
    state
        .keys
        .iter()
        .map(|k| {
            json!({
                "kid": k.kid(),
                "alg": k.alg().name(),
                "jwk": k.jwk.to_json(),
                "state": k.state(now, leeway).name(),
                "created": k.created.as_second(),
                "activated": t(k.activated),
                "signs_until": t(k.signs_until),
                "publish_limit": t(k.publish_limit),
                "published_until": k.activated.map(|_| k.published_until(leeway).as_second()),
                "tokens": k.tokens,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jti_filter_flags_repeats_and_passes_fresh_ones() {
        let mut f = JtiFilter::default();
        assert!(f.insert("a"));
        assert!(f.insert("b"));
        assert!(!f.insert("a"));
        let fresh = (0..100_000)
            .filter(|i| f.insert(&format!("jti-{i}")))
            .count();
        assert_eq!(fresh, 100_000);
    }
}
