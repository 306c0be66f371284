//! What is due in a store's key lifecycle, computed from its state and the
//! clock: the next rotation, the pre-publication of the next key, keys
//! leaving the JWKS, keys whose private half may be destroyed, and token
//! expiries. `covenant status` prints it; `--calendar` exports it.

use jiff::{SignedDuration, Timestamp};

use crate::state::{Issued, Key, KeyState, State, plus_seconds};

/// How long before a rotation the next key should be published, so that
/// gateways caching the JWKS for up to a day, or refreshing it only
/// weekly, have it long before its first token. docs/lifecycle.md explains
/// the choice.
pub const PREPUBLISH_LEAD_DAYS: i64 = 30;

/// What a deadline asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Run `covenant key rotate`.
    Rotate,
    /// Run `covenant key generate --next` and republish the JWKS.
    Prepublish,
    /// A key stops being published; republish the JWKS.
    LeaveJwks,
    /// A key's private half can be destroyed.
    Destroy,
    /// A partner's token expires.
    TokenExpires,
}

impl Kind {
    /// The name used in `--json` output and calendar UIDs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rotate => "rotate",
            Kind::Prepublish => "prepublish",
            Kind::LeaveJwks => "leave_jwks",
            Kind::Destroy => "destroy",
            Kind::TokenExpires => "token_expires",
        }
    }
}

/// One thing to do, or that will happen, at a date.
#[derive(Debug, Clone)]
pub struct Deadline {
    pub kind: Kind,
    pub at: Timestamp,
    /// The key or token it concerns.
    pub subject: String,
    /// One line for people, including the command to run.
    pub summary: String,
}

/// The store's lifecycle as of one moment.
#[derive(Debug)]
pub struct Schedule<'a> {
    pub now: Timestamp,
    pub signer: Option<&'a Key>,
    pub next: Option<&'a Key>,
    /// Every deadline, soonest first.
    pub deadlines: Vec<Deadline>,
    /// Tokens still valid, soonest expiry first.
    pub live_tokens: Vec<&'a Issued>,
}

/// Works out what is due at `now`.
pub fn at(state: &State, now: Timestamp, leeway: i64) -> Schedule<'_> {
    let signer = state.active_key(now);
    let next = state.next_key();
    let mut deadlines = rotation(state, signer, next, now);
    for key in &state.keys {
        deadlines.extend(key_deadlines(state, key, now, leeway));
    }
    let mut live_tokens: Vec<&Issued> = state
        .issued
        .iter()
        .filter(|t| t.is_live(now, leeway))
        .collect();
    live_tokens.sort_by_key(|t| t.exp);
    deadlines.extend(live_tokens.iter().map(|t| Deadline {
        kind: Kind::TokenExpires,
        at: t.exp,
        subject: t.jti.clone(),
        summary: format!(
            "token {} of {} (contract {}) expires",
            t.jti, t.sub, t.contract_id
        ),
    }));
    deadlines.sort_by_key(|d| d.at);
    Schedule {
        now,
        signer,
        next,
        deadlines,
        live_tokens,
    }
}

/// The rotation and, ahead of it, the pre-publication of the next key.
fn rotation(
    state: &State,
    signer: Option<&Key>,
    next: Option<&Key>,
    now: Timestamp,
) -> Vec<Deadline> {
    let Some(signer) = signer else {
        // Nothing signs: rotating is due now, unless the store never had a
        // signer, in which case `key generate` is the first step.
        return match state.last_activated() {
            Some(last) => vec![Deadline {
                kind: Kind::Rotate,
                at: last.signing_ends().unwrap_or(now).min(now),
                subject: last.kid().to_string(),
                summary: "no key signs: run `covenant key rotate`".into(),
            }],
            None => Vec::new(),
        };
    };
    let ends = signer
        .signing_ends()
        .expect("a signer has a signing window");
    let mut out = vec![Deadline {
        kind: Kind::Rotate,
        at: ends,
        subject: signer.kid().to_string(),
        summary: format!(
            "rotate: {} stops signing; run `covenant key rotate`",
            signer.kid()
        ),
    }];
    if next.is_none() {
        let lead = SignedDuration::from_hours(24 * PREPUBLISH_LEAD_DAYS);
        out.push(Deadline {
            kind: Kind::Prepublish,
            at: ends.checked_sub(lead).unwrap_or(ends),
            subject: signer.kid().to_string(),
            summary: "pre-publish the next key: run `covenant key generate --next` and \
                      republish the JWKS"
                .into(),
        });
    }
    out
}

/// When a key that no longer signs leaves the JWKS and may be destroyed.
fn key_deadlines(state: &State, key: &Key, now: Timestamp, leeway: i64) -> Vec<Deadline> {
    let kid = key.kid().to_string();
    let mut out = Vec::new();
    let st = key.state(now, leeway);
    if st == KeyState::Retired {
        out.push(Deadline {
            kind: Kind::LeaveJwks,
            at: key.published_until(leeway),
            subject: kid.clone(),
            summary: format!("{kid} leaves the JWKS: republish the JWKS after this date"),
        });
    }
    let can_go = matches!(
        st,
        KeyState::Retired | KeyState::Expired | KeyState::Revoked
    );
    if can_go && key.destroyed.is_none() {
        out.push(Deadline {
            kind: Kind::Destroy,
            at: destroyable_from(state, key, leeway),
            subject: kid.clone(),
            summary: format!(
                "{kid} is no longer needed: `covenant key destroy {kid}` erases its private half"
            ),
        });
    }
    out
}

/// From when no token that `key` signed is still valid.
fn destroyable_from(state: &State, key: &Key, leeway: i64) -> Timestamp {
    if let Some(c) = &key.revoked {
        return c.time;
    }
    let last_live = state
        .tokens_of(key.kid())
        .filter(|t| t.revoked.is_none())
        .map(|t| plus_seconds(t.exp, leeway))
        .max();
    let ends = key.signing_ends().unwrap_or(Timestamp::MIN);
    last_live.map_or(ends, |l| l.max(ends))
}
