//! The rules a key's life must follow, applied while the ledger is folded.
//!
//! covenant's commands check these rules before they write, so a record
//! that breaks one means the ledger was written by something else or edited
//! by hand. The fold refuses it and names the record rather than building a
//! state from it: an activation of a destroyed key, a revocation of a key
//! or token that never existed, a token signed by a key outside its window.

use jiff::Timestamp;

use super::{Change, Issued, Key, State, key_mut, seconds};
use crate::ledger::{Event, Record};

type Rule = std::result::Result<(), String>;

/// A key may be activated once, and never after it was revoked or
/// destroyed.
pub fn check_activation(key: &Key) -> Rule {
    let kid = key.kid();
    if let Some(c) = &key.destroyed {
        return Err(format!(
            "the record activates key {kid}, which was destroyed at record {}",
            c.record
        ));
    }
    if let Some(c) = &key.revoked {
        return Err(format!(
            "the record activates key {kid}, which was revoked at record {}",
            c.record
        ));
    }
    if key.activated.is_some() {
        return Err(format!("the record activates key {kid} a second time"));
    }
    Ok(())
}

/// A token may only be signed by a key inside its signing window.
pub fn check_minting(key: &Key, time: Timestamp) -> Rule {
    if key.can_sign(time) {
        return Ok(());
    }
    Err(format!(
        "the record mints a token with key {}, which cannot sign at {time} (it is {})",
        key.kid(),
        key.state(time, 0).name()
    ))
}

/// Adds a minted token to the state's list of issued tokens (the key's
/// facts are updated by the fold itself).
pub fn note_token(state: &mut State, event: &Event) -> Rule {
    let Event::TokenMinted {
        jti,
        kid,
        sub,
        aud,
        nbf,
        exp,
        contract_id,
        ..
    } = event
    else {
        unreachable!("note_token is called for token.minted records only");
    };
    // A repeated jti is an audit finding (`covenant ledger verify`), not a
    // reason to refuse the whole store: `token` then finds the first.
    state.issued.push(Issued {
        jti: jti.clone(),
        kid: kid.clone(),
        sub: sub.clone(),
        aud: aud.clone(),
        contract_id: contract_id.clone(),
        nbf: seconds(*nbf)?,
        exp: seconds(*exp)?,
        revoked: None,
    });
    Ok(())
}

fn change(record: &Record, reason: &str) -> Change {
    Change {
        time: record.time,
        actor: record.actor.clone(),
        reason: reason.to_string(),
        record: record.seq,
    }
}

/// A key is retired once, while it may sign.
pub fn retire(state: &mut State, record: &Record, kid: &str, reason: &str) -> Rule {
    let key = key_mut(state, kid)?;
    if key.activated.is_none() {
        return Err(format!("the record retires key {kid}, which never signed"));
    }
    if let Some(c) = &key.retired {
        return Err(format!(
            "the record retires key {kid}, which was already retired at record {}",
            c.record
        ));
    }
    if key.revoked.is_some() || key.destroyed.is_some() {
        return Err(format!(
            "the record retires key {kid}, which is already {}",
            key.state(record.time, 0).name()
        ));
    }
    key.retired = Some(change(record, reason));
    Ok(())
}

/// A key is revoked once; every token it signed is revoked with it.
pub fn revoke_key(state: &mut State, record: &Record, kid: &str, reason: &str) -> Rule {
    let key = key_mut(state, kid)?;
    if let Some(c) = &key.revoked {
        return Err(format!(
            "the record revokes key {kid}, which was already revoked at record {}",
            c.record
        ));
    }
    key.revoked = Some(change(record, reason));
    key.last_live_exp = None;
    let why = format!("its key {kid} was revoked: {reason}");
    for token in state.issued.iter_mut().filter(|t| t.kid == kid) {
        token.revoked.get_or_insert_with(|| change(record, &why));
    }
    Ok(())
}

/// A key's private half is destroyed once, and never while it can sign.
pub fn destroy(state: &mut State, record: &Record, kid: &str, reason: &str) -> Rule {
    let key = key_mut(state, kid)?;
    if let Some(c) = &key.destroyed {
        return Err(format!(
            "the record destroys key {kid}, which was already destroyed at record {}",
            c.record
        ));
    }
    if key.can_sign(record.time) {
        return Err(format!(
            "the record destroys key {kid} while it is the signer; it must be retired first"
        ));
    }
    key.destroyed = Some(change(record, reason));
    Ok(())
}

/// A destroyed key has nothing left to rewrap.
pub fn rewrap(state: &mut State, kid: &str, custody: &str, recipients: &[String]) -> Rule {
    let key = key_mut(state, kid)?;
    if let Some(c) = &key.destroyed {
        return Err(format!(
            "the record rewraps key {kid}, which was destroyed at record {}",
            c.record
        ));
    }
    match (custody, recipients.is_empty()) {
        ("passphrase", true) | ("recipients", false) => {}
        _ => {
            return Err(format!(
                "the record rewraps key {kid} to custody {custody:?} with {} recipients",
                recipients.len()
            ));
        }
    }
    key.custody = custody.to_string();
    key.recipients = recipients.to_vec();
    Ok(())
}

/// A token is revoked once, and must have been minted here.
pub fn revoke_token(state: &mut State, record: &Record, jti: &str, reason: &str) -> Rule {
    let token = state
        .issued
        .iter_mut()
        .find(|t| t.jti == jti)
        .ok_or_else(|| format!("the record revokes token {jti}, which was never minted"))?;
    if let Some(c) = &token.revoked {
        return Err(format!(
            "revokes token {jti}, which was already revoked at record {}",
            c.record
        ));
    }
    token.revoked = Some(change(record, reason));
    let kid = token.kid.clone();
    recompute_live_exp(state, &kid)
}

/// The latest `exp` of a key's tokens that are not revoked.
fn recompute_live_exp(state: &mut State, kid: &str) -> Rule {
    let latest = state
        .tokens_of(kid)
        .filter(|t| t.revoked.is_none())
        .map(|t| t.exp)
        .max();
    key_mut(state, kid)?.last_live_exp = latest;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::algorithm::Algorithm;
    use crate::jwk::Jwk;
    use crate::key;
    use crate::ledger::{self, Entry, Event, Head};
    use crate::state::{Folder, KeyState};

    fn jwk() -> Jwk {
        let pkcs8 = key::generate(Algorithm::EdDSA, 0).unwrap();
        Jwk::new(
            key::public_key(Algorithm::EdDSA, &pkcs8).unwrap(),
            Algorithm::EdDSA,
        )
    }

    fn generated(jwk: &Jwk) -> Event {
        Event::KeyGenerated {
            kid: jwk.kid.clone(),
            alg: jwk.alg,
            jwk: jwk.to_json(),
            custody: "passphrase".into(),
        }
    }

    fn activated(kid: &str) -> Event {
        Event::KeyActivated {
            kid: kid.into(),
            signs_until: 1_900_000_000,
            publish_limit: None,
        }
    }

    /// Folds the events, each a record at the same time, and returns the
    /// first refusal as (record number, reason).
    fn fold(events: Vec<Event>) -> Result<Folder, (u64, String)> {
        let root = jwk();
        let mut all = vec![Event::StoreCreated {
            issuer: "https://i.example".into(),
            policy_sha256: "00".into(),
            policy: String::new(),
            root: root.to_json(),
        }];
        all.extend(events);
        let entries = all
            .into_iter()
            .map(|event| Entry {
                actor: "officer".into(),
                event,
            })
            .collect();
        let head = Head {
            next_seq: 0,
            hash: ledger::GENESIS_PREV.into(),
            len: 0,
        };
        let time = "2027-01-01T00:00:00Z".parse().unwrap();
        let (records, _) = ledger::chain(&head, time, entries);
        let mut folder = Folder::default();
        for r in &records {
            folder.apply(r).map_err(|e| (r.seq, e))?;
        }
        Ok(folder)
    }

    #[test]
    fn revoking_an_unknown_key_is_refused_with_its_record() {
        let err = fold(vec![Event::KeyRevoked {
            kid: "nobody".into(),
            reason: "x".into(),
        }])
        .err()
        .unwrap();
        assert_eq!(err.0, 1);
        assert!(err.1.contains("never generated"), "{}", err.1);
    }

    #[test]
    fn activating_a_destroyed_key_is_refused_with_its_record() {
        let k = jwk();
        let err = fold(vec![
            generated(&k),
            Event::KeyDestroyed {
                kid: k.kid.clone(),
                reason: "abandoned".into(),
                forced: false,
            },
            activated(&k.kid),
        ])
        .err()
        .unwrap();
        assert_eq!(err.0, 3);
        assert!(err.1.contains("destroyed at record 2"), "{}", err.1);
    }

    #[test]
    fn destroying_the_signer_and_minting_after_revocation_are_refused() {
        let k = jwk();
        let destroy = Event::KeyDestroyed {
            kid: k.kid.clone(),
            reason: "x".into(),
            forced: false,
        };
        let err = fold(vec![generated(&k), activated(&k.kid), destroy])
            .err()
            .unwrap();
        assert_eq!(err.0, 3);
        assert!(err.1.contains("while it is the signer"), "{}", err.1);

        let revoke = Event::KeyRevoked {
            kid: k.kid.clone(),
            reason: "stolen".into(),
        };
        let mint = Event::TokenMinted {
            jti: "j".into(),
            kid: k.kid.clone(),
            sub: "p".into(),
            aud: "a".into(),
            scope: "s".into(),
            iat: 0,
            nbf: 0,
            exp: 1_800_000_000,
            contract_id: "c".into(),
            contract_sha256: "00".into(),
            token_sha256: "00".into(),
        };
        let err = fold(vec![generated(&k), activated(&k.kid), revoke, mint])
            .err()
            .unwrap();
        assert_eq!(err.0, 4);
        assert!(err.1.contains("cannot sign"), "{}", err.1);
    }

    #[test]
    fn revoking_a_key_revokes_its_tokens_and_unpublishes_it() {
        let k = jwk();
        let mint = |jti: &str| Event::TokenMinted {
            jti: jti.into(),
            kid: k.kid.clone(),
            sub: "p".into(),
            aud: "a".into(),
            scope: "s".into(),
            iat: 0,
            nbf: 0,
            exp: 1_950_000_000,
            contract_id: "c".into(),
            contract_sha256: "00".into(),
            token_sha256: "00".into(),
        };
        let folder = fold(vec![
            generated(&k),
            activated(&k.kid),
            mint("a"),
            mint("b"),
            Event::TokenRevoked {
                jti: "a".into(),
                reason: "ended".into(),
            },
            Event::KeyRevoked {
                kid: k.kid.clone(),
                reason: "stolen".into(),
            },
        ])
        .unwrap();
        let state = folder.finish().unwrap();
        let now = "2027-06-01T00:00:00Z".parse().unwrap();
        assert_eq!(state.revoked_tokens().count(), 2);
        assert_eq!(
            state.token("a").unwrap().revoked.as_ref().unwrap().record,
            5
        );
        assert!(
            state
                .token("b")
                .unwrap()
                .revoked
                .as_ref()
                .unwrap()
                .reason
                .contains("stolen")
        );
        assert_eq!(state.keys[0].state(now, 60), KeyState::Revoked);
        assert!(state.published(now, 60).is_empty());
    }

    #[test]
    fn revoking_a_token_never_minted_is_refused() {
        let err = fold(vec![Event::TokenRevoked {
            jti: "ghost".into(),
            reason: "x".into(),
        }])
        .err()
        .unwrap();
        assert_eq!(err.0, 1);
        assert!(err.1.contains("never minted"), "{}", err.1);
    }
}
