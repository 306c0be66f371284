//! The store's state, as the ledger tells it.
//!
//! Nothing about a key's life is kept anywhere but the ledger: replaying
//! the records gives the issuer, the root key, every signing key with its
//! windows, and what has been minted. Derived values such as "which key
//! signs now" are computed from that and the current time, so they can
//! never disagree with the audit trail.

use jiff::Timestamp;

use crate::algorithm::Algorithm;
use crate::error::{Error, Result};
use crate::jwk::Jwk;
use crate::ledger::{Event, Record};

/// A signing key's place in its life at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Generated and published, waiting to sign.
    Next,
    /// The signer.
    Active,
    /// No longer signs; published while tokens it signed may be live.
    Retired,
    /// Retired, and every token it signed has expired: it has left the
    /// JWKS.
    Expired,
}

impl KeyState {
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Expired => "expired",
        }
    }
}

/// What the ledger says about one signing key.
#[derive(Debug, Clone)]
pub struct Key {
    pub jwk: Jwk,
    pub created: Timestamp,
    pub custody: String,
    pub activated: Option<Timestamp>,
    pub signs_until: Option<Timestamp>,
    pub publish_limit: Option<Timestamp>,
    /// The latest `exp` of any token this key signed.
    pub last_exp: Option<Timestamp>,
    pub tokens: u64,
}

impl Key {
    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    pub fn alg(&self) -> Algorithm {
        self.jwk.alg
    }

    /// The key's state at `now`, with `leeway` seconds of grace for
    /// verifiers whose clocks run slow.
    pub fn state(&self, now: Timestamp, leeway: i64) -> KeyState {
        match (self.activated, self.signs_until) {
            (None, _) | (_, None) => KeyState::Next,
            (Some(_), Some(until)) if now < until => KeyState::Active,
            (Some(_), Some(_)) if now <= self.published_until(leeway) => KeyState::Retired,
            _ => KeyState::Expired,
        }
    }

    /// Until when verifiers need this key: the end of its signing window or
    /// the latest expiry of its tokens, whichever is later, plus leeway.
    pub fn published_until(&self, leeway: i64) -> Timestamp {
        let end = match (self.signs_until, self.last_exp) {
            (Some(s), Some(e)) => s.max(e),
            (Some(s), None) => s,
            (None, Some(e)) => e,
            (None, None) => Timestamp::MAX,
        };
        end.checked_add(jiff::SignedDuration::from_secs(leeway))
            .unwrap_or(Timestamp::MAX)
    }
}

/// Everything the ledger says, folded.
#[derive(Debug, Clone)]
pub struct State {
    pub issuer: String,
    pub policy_sha256: String,
    pub root: Jwk,
    pub keys: Vec<Key>,
    pub tokens: u64,
}

impl State {
    /// The key that signs at `now`, if any.
    pub fn active_key(&self, now: Timestamp) -> Option<&Key> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.activated.is_some() && k.signs_until.is_some_and(|u| now < u))
    }

    /// The most recently activated key, whether or not its window is open.
    pub fn last_activated(&self) -> Option<&Key> {
        self.keys.iter().rev().find(|k| k.activated.is_some())
    }

    pub fn key(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// The keys a verifier needs at `now`.
    pub fn published(&self, now: Timestamp, leeway: i64) -> Vec<&Key> {
        self.keys
            .iter()
            .filter(|k| k.state(now, leeway) != KeyState::Expired)
            .collect()
    }
}

/// Builds the state record by record.
#[derive(Default)]
pub struct Folder {
    state: Option<State>,
}

impl Folder {
    /// Applies one record. A record that contradicts what came before
    /// (a second store creation, an event for an unknown key) is an error
    /// naming the record.
    pub fn apply(&mut self, record: &Record) -> std::result::Result<(), String> {
        let time = record.time;
        match (&mut self.state, &record.event) {
            (
                None,
                Event::StoreCreated {
                    issuer,
                    policy_sha256,
                    root,
                    ..
                },
            ) => {
                let root = Jwk::from_json(root).map_err(|e| format!("root key: {e}"))?;
                self.state = Some(State {
                    issuer: issuer.clone(),
                    policy_sha256: policy_sha256.clone(),
                    root,
                    keys: Vec::new(),
                    tokens: 0,
                });
            }
            (None, _) => return Err("the ledger does not begin with the store's creation".into()),
            (Some(_), Event::StoreCreated { .. }) => {
                return Err("a second store.created record".into());
            }
            (
                Some(state),
                Event::KeyGenerated {
                    kid,
                    alg,
                    jwk,
                    custody,
                },
            ) => {
                let jwk = Jwk::from_json(jwk).map_err(|e| format!("key {kid}: {e}"))?;
                if jwk.kid != *kid || jwk.key.kid() != *kid || jwk.alg != *alg {
                    return Err(format!("key {kid}: the JWK does not match its kid or alg"));
                }
                if state.key(kid).is_some() {
                    return Err(format!("key {kid} is generated twice"));
                }
                state.keys.push(Key {
                    jwk,
                    created: time,
                    custody: custody.clone(),
                    activated: None,
                    signs_until: None,
                    publish_limit: None,
                    last_exp: None,
                    tokens: 0,
                });
            }
            (
                Some(state),
                Event::KeyActivated {
                    kid,
                    signs_until,
                    publish_limit,
                },
            ) => {
                let key = key_mut(state, kid)?;
                key.activated = Some(time);
                key.signs_until = Some(seconds(*signs_until)?);
                key.publish_limit = publish_limit.map(seconds).transpose()?;
            }
            // Ceremonies change state only through the records of the
            // commands they ran; their own records are for auditors.
            (
                Some(_),
                Event::ManifestExported { .. }
                | Event::CeremonyCompleted { .. }
                | Event::CeremonyAbandoned { .. },
            ) => {}
            (Some(state), Event::PolicyChanged { policy_sha256, .. }) => {
                state.policy_sha256 = policy_sha256.clone();
            }
            (Some(state), Event::TokenMinted { kid, exp, .. }) => {
                let exp = seconds(*exp)?;
                let key = key_mut(state, kid)?;
                key.tokens += 1;
                key.last_exp = Some(key.last_exp.map_or(exp, |e| e.max(exp)));
                state.tokens += 1;
            }
        }
        Ok(())
    }

    /// The state so far, once the store's creation has been seen.
    pub fn state(&self) -> Option<&State> {
        self.state.as_ref()
    }

    pub fn finish(self) -> Option<State> {
        self.state
    }
}

fn key_mut<'a>(state: &'a mut State, kid: &str) -> std::result::Result<&'a mut Key, String> {
    state
        .keys
        .iter_mut()
        .find(|k| k.kid() == kid)
        .ok_or_else(|| format!("the record names key {kid}, which was never generated"))
}

fn seconds(s: i64) -> std::result::Result<Timestamp, String> {
    Timestamp::from_second(s).map_err(|e| format!("time {s} is out of range: {e}"))
}

/// Replays a ledger file into a state.
pub fn load(path: &std::path::Path) -> Result<(State, crate::ledger::Head)> {
    let mut folder = Folder::default();
    let head = crate::ledger::replay(path, |record| {
        folder.apply(record).map_err(|reason| Error::Ledger {
            path: path.to_path_buf(),
            record: record.seq,
            reason,
        })
    })?;
    let state = folder.finish().ok_or_else(|| Error::Ledger {
        path: path.to_path_buf(),
        record: 0,
        reason: "the ledger is empty".into(),
    })?;
    Ok((state, head))
}
