//! The latest expiry of a key's live tokens, kept in bounded memory.
//!
//! A key must stay published until its last live token has expired, so a
//! manifest states each key's `published_until`. Revoking a token one by
//! one can move that date back, to the latest expiry of the key's other
//! tokens, and a revocation names only its jti. A streaming auditor that
//! keeps no list of tokens therefore remembers, for each key, the few
//! latest-expiring tokens by jti. That answers exactly in one pass unless
//! so many of a key's latest tokens are revoked that a forgotten one may
//! be the latest left; then the key is recounted in a second pass over
//! the records.

use std::collections::HashSet;

/// How many of a key's latest-expiring live tokens are remembered.
const REMEMBERED: usize = 16;

/// One key's latest-expiring live tokens.
#[derive(Debug, Default)]
pub struct LatestExpiries {
    /// Up to [`REMEMBERED`] live tokens as (exp, jti), in no order.
    latest: Vec<(i64, String)>,
    /// The latest `exp` of the tokens not remembered: no live token that
    /// is missing from `latest` expires after it.
    forgotten: Option<i64>,
    /// The second pass's count, for a key whose answer was not known.
    recounted: Option<i64>,
}

impl LatestExpiries {
    /// Notes a token the key signed.
    pub fn minted(&mut self, exp: i64, jti: &str) {
        if self.latest.len() == REMEMBERED {
            let (at, earliest) = self
                .latest
                .iter()
                .enumerate()
                .map(|(at, (exp, _))| (at, *exp))
                .min_by_key(|&(_, exp)| exp)
                .expect("a full list is not empty");
            if exp <= earliest {
                self.forget(exp);
                return;
            }
            self.latest.swap_remove(at);
            self.forget(earliest);
        }
        self.latest.push((exp, jti.to_string()));
    }

    /// Notes a revoked token; returns whether it was one of those
    /// remembered, that is, whether it was this key's.
    pub fn revoked(&mut self, jti: &str) -> bool {
        match self.latest.iter().position(|(_, j)| j == jti) {
            Some(at) => {
                self.latest.swap_remove(at);
                true
            }
            None => false,
        }
    }

    /// The latest expiry of a live token, `Some(None)` when none is live,
    /// or `None` when only a second pass can tell.
    pub fn known(&self) -> Option<Option<i64>> {
        let latest = self.latest.iter().map(|(exp, _)| *exp).max();
        match (latest, self.forgotten) {
            (_, None) => Some(latest),
            (Some(l), Some(f)) if l >= f => Some(Some(l)),
            _ => None,
        }
    }

    /// Second pass: sees one of the key's tokens again, with the set of
    /// every revoked jti.
    pub fn recount(&mut self, exp: i64, jti: &str, revoked: &HashSet<String>) {
        if self.known().is_none() && !revoked.contains(jti) {
            self.recounted = Some(self.recounted.map_or(exp, |r| r.max(exp)));
        }
    }

    /// The answer, once the second pass (if [`known`](Self::known) asked
    /// for one) has seen every record.
    pub fn latest_live(&self) -> Option<i64> {
        self.known().unwrap_or(self.recounted)
    }

    fn forget(&mut self, exp: i64) {
        self.forgotten = Some(self.forgotten.map_or(exp, |f| f.max(exp)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jti(i: i64) -> String {
        format!("jti-{i}")
    }

    #[test]
    fn with_no_revocation_the_latest_expiry_is_known_in_one_pass() {
        let mut e = LatestExpiries::default();
        assert_eq!(e.known(), Some(None));
        for i in [5, 900, 3, 40, 7] {
            for k in 0..10 {
                e.minted(i * 100 + k, &jti(i * 100 + k));
            }
        }
        assert_eq!(e.known(), Some(Some(90_009)));
    }

    #[test]
    fn revoking_the_latest_token_falls_back_to_the_next_latest() {
        let mut e = LatestExpiries::default();
        for i in 0..100 {
            e.minted(i, &jti(i));
        }
        assert!(e.revoked(&jti(99)));
        assert!(e.revoked(&jti(97)));
        assert!(!e.revoked(&jti(3)), "a forgotten token is not remembered");
        assert_eq!(e.known(), Some(Some(98)));
    }

    #[test]
    fn revoking_every_remembered_token_needs_the_second_pass() {
        let mut e = LatestExpiries::default();
        let revoked: HashSet<String> = (84..100).map(jti).collect();
        for i in 0..100 {
            e.minted(i, &jti(i));
        }
        for j in &revoked {
            assert!(e.revoked(j));
        }
        assert_eq!(e.known(), None);
        for i in 0..100 {
            e.recount(i, &jti(i), &revoked);
        }
        assert_eq!(e.latest_live(), Some(83));
    }

    #[test]
    fn a_key_whose_tokens_are_all_revoked_has_no_live_expiry() {
        let mut e = LatestExpiries::default();
        let revoked: HashSet<String> = (0..40).map(jti).collect();
        for i in 0..40 {
            e.minted(i, &jti(i));
        }
        for j in &revoked {
            e.revoked(j);
        }
        for i in 0..40 {
            e.recount(i, &jti(i), &revoked);
        }
        assert_eq!(e.latest_live(), None);
    }

    #[test]
    fn a_token_later_than_every_forgotten_one_answers_without_a_second_pass() {
        let mut e = LatestExpiries::default();
        for i in 0..40 {
            e.minted(i, &jti(i));
        }
        for i in 24..40 {
            e.revoked(&jti(i));
        }
        assert_eq!(e.known(), None);
        e.minted(1_000, &jti(1_000));
        assert_eq!(e.known(), Some(Some(1_000)));
    }
}
