//! The root key: created with the store, it signs what auditors and
//! gateways check without a secret (manifests and revocation lists), and
//! never a token.
//!
//! The root key is Ed25519. Auditors pin its fingerprint: the hex form of
//! its RFC 7638 thumbprint, which `init` prints and `status` shows. A
//! signature by the root is always over a domain-separated message,
//! `covenant/<purpose>/v1:` followed by the payload, so that a signature
//! made for one kind of document can never be passed off as another.

use crate::file;

use ring::signature;

use crate::algorithm::Algorithm;
use crate::error::{Error, Result};
use crate::jwk::{Jwk, PublicKey};
use crate::key::{self, UnsealError};
use crate::passphrase::PassphraseSource;
use crate::store::Store;

/// What a root signature is for; part of the signed message.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Manifest,
    Revocations,
    Transcript,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Manifest => "covenant/manifest/v1:",
            Purpose::Revocations => "covenant/revocations/v1:",
            Purpose::Transcript => "covenant/transcript/v1:",
        }
    }

    fn message(self, payload: &[u8]) -> Vec<u8> {
        [self.label().as_bytes(), payload].concat()
    }
}

/// The unsealed root key.
pub struct RootSigner {
    pair: signature::Ed25519KeyPair,
    /// The same key for jsonwebtoken, which signs JWS documents such as the
    /// revocation list through covenant's ring provider.
    encoding: jsonwebtoken::EncodingKey,
    jwk: Jwk,
}

impl RootSigner {
    /// A root signer from an unsealed Ed25519 PKCS#8 key.
    pub fn from_pkcs8(pkcs8: &key::Pkcs8) -> Result<RootSigner> {
        let public = key::public_key(Algorithm::EdDSA, pkcs8).map_err(Error::Usage)?;
        let pair = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8.der())
            .map_err(|e| Error::Usage(format!("not an Ed25519 key: {e}")))?;
        Ok(RootSigner {
            pair,
            encoding: jsonwebtoken::EncodingKey::from_ed_der(pkcs8.der()),
            jwk: Jwk::new(public, Algorithm::EdDSA),
        })
    }

    /// Signs `claims` as a compact JWS with an explicit `typ` (RFC 8725
    /// §3.11), so that no verifier can take it for a token or for another
    /// kind of root-signed document.
    pub fn sign_jws(&self, typ: &str, claims: &serde_json::Value) -> Result<String> {
        crate::provider::install();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.typ = Some(typ.to_string());
        header.kid = Some(self.jwk.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| Error::Usage(format!("the root key could not sign: {e}")))
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Signs `payload` for `purpose`.
    pub fn sign(&self, purpose: Purpose, payload: &[u8]) -> Vec<u8> {
        self.pair.sign(&purpose.message(payload)).as_ref().to_vec()
    }
}

/// Unseals the store's root key and checks it is the root the ledger
/// recorded at creation.
pub fn unlock(store: &Store, source: &PassphraseSource) -> Result<RootSigner> {
    let path = store.root_key_path();
    let sealed = file::read_input(&path, file::MAX_INPUT)?;
    let passphrase = source.existing("the root key")?;
    let pkcs8 = key::unseal_with_passphrase(&sealed, passphrase).map_err(|e| match e {
        UnsealError::WrongSecret => Error::WrongPassphrase {
            what: "the root key".into(),
        },
        UnsealError::Damaged(reason) => Error::KeyFile {
            path: path.clone(),
            reason,
        },
    })?;
    let public = key::public_key(Algorithm::EdDSA, &pkcs8).map_err(|reason| Error::KeyFile {
        path: path.clone(),
        reason,
    })?;
    if public != store.state.root.key {
        return Err(Error::KeyFile {
            path,
            reason: "this is not the root key the ledger records".into(),
        });
    }
    RootSigner::from_pkcs8(&pkcs8)
}

/// Verifies a root signature with a root public key.
pub fn verify(root: &Jwk, purpose: Purpose, payload: &[u8], sig: &[u8]) -> bool {
    matches!(root.key, PublicKey::Ed25519 { .. })
        && signature::UnparsedPublicKey::new(&signature::ED25519, root.key.ring_bytes())
            .verify(&purpose.message(payload), sig)
            .is_ok()
}

/// A key's fingerprint: its RFC 7638 thumbprint in lowercase hex.
pub fn fingerprint(jwk: &Jwk) -> String {
    hex::encode(jwk.key.thumbprint())
}

/// Reads a pinned fingerprint as people write it: 64 hex digits in any
/// case, with or without spaces or colons between groups.
pub fn parse_fingerprint(text: &str) -> Result<String> {
    let hex: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(Error::Usage(format!(
            "{text:?} is not a root fingerprint: expected 64 hex digits, as `covenant init` printed"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_read_as_people_write_them() {
        let fp = "78c4 9aac 1aa7 a2e3 5123 3036 ffa7 0bce 064e 4a83 693b 9be9 26fd b831 2426 AD53";
        assert_eq!(
            parse_fingerprint(fp).unwrap(),
            "78c49aac1aa7a2e351233036ffa70bce064e4a83693b9be926fdb8312426ad53"
        );
        assert!(parse_fingerprint("78c4").is_err());
    }

    #[test]
    fn a_signature_for_one_purpose_does_not_verify_for_another() {
        let pkcs8 = key::generate(Algorithm::EdDSA, 0).unwrap();
        let jwk = Jwk::new(
            key::public_key(Algorithm::EdDSA, &pkcs8).unwrap(),
            Algorithm::EdDSA,
        );
        let signer = RootSigner::from_pkcs8(&pkcs8).unwrap();
        let sig = signer.sign(Purpose::Manifest, b"payload");
        assert!(verify(&jwk, Purpose::Manifest, b"payload", &sig));
        assert!(!verify(&jwk, Purpose::Revocations, b"payload", &sig));
        assert!(!verify(&jwk, Purpose::Manifest, b"payloaD", &sig));
    }
}
