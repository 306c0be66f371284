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

mod lifecycle_rules;

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
    /// Compromised: out of the JWKS at once, and every token it signed is
    /// revoked.
    Revoked,
    /// Its private half was erased and it is no longer published.
    Destroyed,
}

impl KeyState {
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Expired => "expired",
            KeyState::Revoked => "revoked",
            KeyState::Destroyed => "destroyed",
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
    pub tokens: u64,
    /// The latest `exp` of the tokens it signed that are not revoked: what
    /// keeps it published.
    pub last_live_exp: Option<Timestamp>,
    /// When it stopped signing early (rotation or retirement).
    pub retired: Option<Change>,
    pub revoked: Option<Change>,
    pub destroyed: Option<Change>,
    /// The age X25519 recipients that can unlock it, when its custody is
    /// `recipients`.
    pub recipients: Vec<String>,
}

/// A recorded change of state: when, by whom, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub time: Timestamp,
    pub actor: String,
    pub reason: String,
    /// The ledger record that made the change.
    pub record: u64,
}

/// What the ledger says about one minted token. The token itself is never
/// recorded, only its claims that matter for its life.
#[derive(Debug, Clone)]
pub struct Issued {
    pub jti: String,
    pub kid: String,
    pub sub: String,
    pub aud: String,
    pub contract_id: String,
    pub nbf: Timestamp,
    pub exp: Timestamp,
    /// Set when the token, or the key that signed it, was revoked.
    pub revoked: Option<Change>,
}

impl Issued {
    /// Whether a verifier could still accept the token at `now`: not
    /// revoked, and not past its `exp` plus the leeway.
    pub fn is_live(&self, now: Timestamp, leeway: i64) -> bool {
        self.revoked.is_none() && now <= plus_seconds(self.exp, leeway)
    }
}

impl Key {
    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    pub fn alg(&self) -> Algorithm {
        self.jwk.alg
    }

    /// When its signing window closes: the end of its signing period, or
    /// its retirement if that came first.
    pub fn signing_ends(&self) -> Option<Timestamp> {
        let retired = self.retired.as_ref().map(|c| c.time);
        match (self.signs_until, retired) {
            (Some(u), Some(r)) => Some(u.min(r)),
            (u, r) => u.or(r),
        }
    }

    /// Whether the key may sign at `now`.
    pub fn can_sign(&self, now: Timestamp) -> bool {
        self.activated.is_some_and(|a| a <= now)
            && self.revoked.is_none()
            && self.destroyed.is_none()
            && self.signing_ends().is_some_and(|end| now < end)
    }

    /// The key's state at `now`, with `leeway` seconds of grace for
    /// verifiers whose clocks run slow.
    pub fn state(&self, now: Timestamp, leeway: i64) -> KeyState {
        if self.revoked.is_some() {
            return KeyState::Revoked;
        }
        if self.activated.is_none() {
            return match self.destroyed {
                Some(_) => KeyState::Destroyed,
                None => KeyState::Next,
            };
        }
        if self.can_sign(now) {
            KeyState::Active
        } else if now <= self.published_until(leeway) {
            // A key destroyed with --force stays published while tokens it
            // signed are live: verifying needs only the public half.
            KeyState::Retired
        } else if self.destroyed.is_some() {
            KeyState::Destroyed
        } else {
            KeyState::Expired
        }
    }

    /// Whether verifiers need this key in the JWKS at `now`.
    pub fn is_published(&self, now: Timestamp, leeway: i64) -> bool {
        matches!(
            self.state(now, leeway),
            KeyState::Next | KeyState::Active | KeyState::Retired
        )
    }

    /// Until when verifiers need this key: the end of its signing window or
    /// the latest expiry of its tokens that are not revoked, whichever is
    /// later, plus leeway.
    pub fn published_until(&self, leeway: i64) -> Timestamp {
        let end = match (self.signing_ends(), self.last_live_exp) {
            (Some(s), Some(e)) => s.max(e),
            (Some(s), None) => s,
            (None, Some(e)) => e,
            (None, None) => Timestamp::MAX,
        };
        plus_seconds(end, leeway)
    }
}

/// `t` plus `seconds`, saturating at the end of time.
pub fn plus_seconds(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap_or(Timestamp::MAX)
}

/// Everything the ledger says, folded.
#[derive(Debug, Clone)]
pub struct State {
    pub issuer: String,
    pub policy_sha256: String,
    pub root: Jwk,
    pub keys: Vec<Key>,
    pub tokens: u64,
    /// Every token minted, in ledger order.
    pub issued: Vec<Issued>,
}

impl State {
    /// The key that signs at `now`, if any.
    pub fn active_key(&self, now: Timestamp) -> Option<&Key> {
        self.keys.iter().rev().find(|k| k.can_sign(now))
    }

    /// The keys generated to sign next, oldest first: published, never
    /// activated.
    pub fn next_keys(&self) -> impl Iterator<Item = &Key> {
        self.keys
            .iter()
            .filter(|k| k.activated.is_none() && k.revoked.is_none() && k.destroyed.is_none())
    }

    /// The oldest key waiting to sign next.
    pub fn next_key(&self) -> Option<&Key> {
        self.next_keys().next()
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
            .filter(|k| k.is_published(now, leeway))
            .collect()
    }

    pub fn token(&self, jti: &str) -> Option<&Issued> {
        self.issued.iter().find(|t| t.jti == jti)
    }

    /// The tokens `kid` signed.
    pub fn tokens_of<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a Issued> + 'a {
        self.issued.iter().filter(move |t| t.kid == kid)
    }

    /// Every revoked token, one by one or with its key, for the
    /// revocation list.
    pub fn revoked_tokens(&self) -> impl Iterator<Item = &Issued> {
        self.issued.iter().filter(|t| t.revoked.is_some())
    }

    /// Every revoked (compromised) key.
    pub fn revoked_keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(|k| k.revoked.is_some())
    }
}

/// Builds the state record by record.
#[derive(Default)]
pub struct Folder {
    state: Option<State>,
    /// Set for audits that stream ledgers of any length: minted tokens are
    /// then not listed one by one, so memory does not grow with them. The
    /// auditor checks token revocations itself (src/audit.rs).
    streaming: bool,
}

impl Folder {
    /// A folder for streaming audits: per-key facts only, no token list.
    pub fn streaming() -> Folder {
        Folder {
            state: None,
            streaming: true,
        }
    }

    /// Applies one record. A record that contradicts what came before
    /// (a second store creation, an event for an unknown key) is an error
    /// naming the record.
    pub fn apply(&mut self, record: &Record) -> std::result::Result<(), String> {
        let time = record.time;
        let streaming = self.streaming;
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
                    issued: Vec::new(),
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
                    tokens: 0,
                    last_live_exp: None,
                    retired: None,
                    revoked: None,
                    destroyed: None,
                    recipients: Vec::new(),
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
                lifecycle_rules::check_activation(key)?;
                key.activated = Some(time);
                key.signs_until = Some(seconds(*signs_until)?);
                key.publish_limit = publish_limit.map(seconds).transpose()?;
            }
            // Ceremonies change state only through the records of the
            // commands they ran; their own records are for auditors.
            (
                Some(_),
                Event::ManifestExported { .. }
                | Event::RevocationsExported { .. }
                | Event::CeremonyCompleted { .. }
                | Event::CeremonyAbandoned { .. },
            ) => {}
            (Some(state), Event::PolicyChanged { policy_sha256, .. }) => {
                state.policy_sha256 = policy_sha256.clone();
            }
            (Some(state), Event::TokenMinted { kid, exp, .. }) => {
                let exp = seconds(*exp)?;
                let key = key_mut(state, kid)?;
                lifecycle_rules::check_minting(key, time)?;
                key.tokens += 1;
                key.last_live_exp = Some(key.last_live_exp.map_or(exp, |e| e.max(exp)));
                state.tokens += 1;
                if !streaming {
                    lifecycle_rules::note_token(state, &record.event)?;
                }
            }

            // Lifecycle events, kept apart from the arms above; the rules
            // they must obey live in state/lifecycle_rules.rs.
            (Some(state), Event::KeyRetired { kid, reason }) => {
                lifecycle_rules::retire(state, record, kid, reason)?;
            }
            (Some(state), Event::KeyRevoked { kid, reason }) => {
                lifecycle_rules::revoke_key(state, record, kid, reason)?;
            }
            (
                Some(state),
                Event::KeyDestroyed {
                    kid,
                    reason,
                    forced: _,
                },
            ) => lifecycle_rules::destroy(state, record, kid, reason)?,
            (
                Some(state),
                Event::KeyRewrapped {
                    kid,
                    custody,
                    recipients,
                    reason: _,
                },
            ) => lifecycle_rules::rewrap(state, kid, custody, recipients)?,
            (Some(_), Event::TokenRevoked { .. }) if streaming => {}
            (Some(state), Event::TokenRevoked { jti, reason }) => {
                lifecycle_rules::revoke_token(state, record, jti, reason)?;
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

pub(crate) fn key_mut<'a>(
    state: &'a mut State,
    kid: &str,
) -> std::result::Result<&'a mut Key, String> {
    state
        .keys
        .iter_mut()
        .find(|k| k.kid() == kid)
        .ok_or_else(|| format!("the record names key {kid}, which was never generated"))
}

pub(crate) fn seconds(s: i64) -> std::result::Result<Timestamp, String> {
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
