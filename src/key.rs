//! Private signing keys: generation, PKCS#8, and custody under age.
//!
//! A private key exists in clear only in memory, as a PKCS#8 document in a
//! zeroizing buffer. On disk it is that document encrypted with age, either
//! to a passphrase (scrypt) or to age X25519 recipients. ring generates and
//! uses the keys; the one exception is RSA key generation, which ring does
//! not offer (see `generate_rsa`).

use std::io::{Read, Write};

use age::secrecy::SecretString;
use pkcs8::der::Decode;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair};
use zeroize::Zeroizing;

use crate::algorithm::Algorithm;
use crate::jwk::{Curve, Jwk, PublicKey};
use crate::provider::RingSigner;

/// A PKCS#8 private key document, wiped from memory when dropped.
pub struct Pkcs8(Zeroizing<Vec<u8>>);

impl Pkcs8 {
    /// The DER bytes. Callers must not copy them anywhere that outlives
    /// the `Pkcs8`.
    pub fn der(&self) -> &[u8] {
        &self.0
    }
}

/// RSA modulus sizes covenant generates.
pub const RSA_BITS: [usize; 3] = [2048, 3072, 4096];
/// RSA modulus size when none is asked for.
pub const DEFAULT_RSA_BITS: usize = 3072;

// Object identifiers of the PKCS#8 algorithm fields covenant expects.
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ED25519: &str = "1.3.101.112";
const OID_RSA: &str = "1.2.840.113549.1.1.1";

/// Generates a private key for `alg`. `rsa_bits` applies to RSA only.
pub fn generate(alg: Algorithm, rsa_bits: usize) -> Result<Pkcs8, String> {
    let rng = SystemRandom::new();
    let doc = match alg {
        Algorithm::ES256 | Algorithm::ES384 => {
            signature::EcdsaKeyPair::generate_pkcs8(ecdsa_signing(alg), &rng)
                .map_err(|_| "ECDSA key generation failed")?
        }
        Algorithm::EdDSA => {
            let v2 = signature::Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| "Ed25519 key generation failed")?;
            return ed25519_v1(v2.as_ref());
        }
        Algorithm::RS256 | Algorithm::PS256 => return generate_rsa(rsa_bits),
    };
    Ok(Pkcs8(Zeroizing::new(doc.as_ref().to_vec())))
}

/// ring writes a new Ed25519 key as PKCS#8 v2 (RFC 5958), with the public
/// key appended. OpenSSL 3.0 and Python's `cryptography` refuse that form,
/// so an operator could not read back their own key file with standard
/// tools. covenant keeps the v1 form of RFC 8410 section 7 instead, which
/// every implementation reads; ring derives the public key when it loads it.
fn ed25519_v1(v2: &[u8]) -> Result<Pkcs8, String> {
    use pkcs8::der::Encode;

    let info = pkcs8::PrivateKeyInfoRef::from_der(v2)
        .map_err(|e| format!("ring wrote an unreadable Ed25519 key: {e}"))?;
    let v1 = pkcs8::PrivateKeyInfoRef {
        public_key: None,
        ..info
    };
    let der = v1
        .to_der()
        .map_err(|e| format!("cannot encode the Ed25519 key: {e}"))?;
    Ok(Pkcs8(Zeroizing::new(der)))
}

/// ring can sign with RSA keys but cannot generate them. The RustCrypto
/// `rsa` crate does that one step: it is the maintained pure-Rust RSA
/// implementation, its 0.10 line does its arithmetic in constant time on
/// `crypto-bigint`, and it writes standard PKCS#8 that ring then loads. It
/// draws its randomness from ring's system generator, so covenant has one
/// source of randomness, and it is never used to sign.
fn generate_rsa(bits: usize) -> Result<Pkcs8, String> {
    use rsa::pkcs8::EncodePrivateKey;

    if !RSA_BITS.contains(&bits) {
        return Err(format!("RSA keys are 2048, 3072 or 4096 bits, not {bits}"));
    }
    let mut rng = RingRng(SystemRandom::new());
    let key = rsa::PrivateKey::new(&mut rng, bits).map_err(|e| e.to_string())?;
    let doc = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    Ok(Pkcs8(Zeroizing::new(doc.as_bytes().to_vec())))
}

/// Adapts ring's system random generator to the `rand_core` traits that
/// the `rsa` crate asks for.
struct RingRng(SystemRandom);

impl rsa::rand_core::TryRng for RingRng {
    type Error = RngFailure;

    fn try_next_u32(&mut self) -> Result<u32, RngFailure> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, RngFailure> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngFailure> {
        ring::rand::SecureRandom::fill(&self.0, dst).map_err(|_| RngFailure)
    }
}

impl rsa::rand_core::TryCryptoRng for RingRng {}

/// The operating system's random generator failed.
#[derive(Debug)]
pub struct RngFailure;

impl std::fmt::Display for RngFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the system random number generator failed")
    }
}

impl std::error::Error for RngFailure {}

fn ecdsa_signing(alg: Algorithm) -> &'static signature::EcdsaSigningAlgorithm {
    match alg {
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

/// Checks that a PKCS#8 document holds a key of the kind `alg` needs, and
/// returns its public half. The structure is read with the `pkcs8` crate
/// first, so that a key of the wrong kind is named as such instead of
/// failing somewhere inside ring.
pub fn public_key(alg: Algorithm, pkcs8: &Pkcs8) -> Result<PublicKey, String> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8.der())
        .map_err(|e| format!("not a PKCS#8 private key: {e}"))?;
    let oid = info.algorithm.oid.to_string();
    let param = info.algorithm.parameters_oid().ok().map(|p| p.to_string());
    let expected = match alg {
        Algorithm::ES256 => (OID_EC_PUBLIC_KEY, Some(OID_P256)),
        Algorithm::ES384 => (OID_EC_PUBLIC_KEY, Some(OID_P384)),
        Algorithm::EdDSA => (OID_ED25519, None),
        Algorithm::RS256 | Algorithm::PS256 => (OID_RSA, None),
    };
    if oid != expected.0 || (expected.1.is_some() && param.as_deref() != expected.1) {
        return Err(format!(
            "the PKCS#8 document holds no {alg} key (algorithm {oid})"
        ));
    }

    let rng = SystemRandom::new();
    let invalid = |e: ring::error::KeyRejected| format!("ring rejects the {alg} key: {e}");
    Ok(match alg {
        Algorithm::ES256 | Algorithm::ES384 => {
            let pair = signature::EcdsaKeyPair::from_pkcs8(ecdsa_signing(alg), pkcs8.der(), &rng)
                .map_err(invalid)?;
            let point = pair.public_key().as_ref();
            let (x, y) = point[1..].split_at((point.len() - 1) / 2);
            let curve = if alg == Algorithm::ES256 {
                Curve::P256
            } else {
                Curve::P384
            };
            PublicKey::Ec {
                curve,
                x: x.to_vec(),
                y: y.to_vec(),
            }
        }
        Algorithm::EdDSA => {
            let pair = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8.der())
                .map_err(invalid)?;
            PublicKey::Ed25519 {
                x: pair.public_key().as_ref().to_vec(),
            }
        }
        Algorithm::RS256 | Algorithm::PS256 => {
            let pair = signature::RsaKeyPair::from_pkcs8(pkcs8.der()).map_err(invalid)?;
            let public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
            PublicKey::Rsa {
                n: public.n,
                e: public.e,
            }
        }
    })
}

/// How a sealed private key is unlocked.
pub enum Custody<'a> {
    /// A passphrase, stretched with age's scrypt.
    Passphrase(SecretString),
    /// Any one of these age X25519 identities' owners.
    Recipients(&'a [age::x25519::Recipient]),
}

/// Encrypts a private key with age.
pub fn seal(pkcs8: &Pkcs8, custody: Custody<'_>) -> Result<Vec<u8>, String> {
    let encryptor = match custody {
        Custody::Passphrase(passphrase) => {
            let mut recipient = age::scrypt::Recipient::new(passphrase);
            if let Some(log_n) = test_scrypt_work_factor() {
                recipient.set_work_factor(log_n);
            }
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        }
        Custody::Recipients(list) => {
            age::Encryptor::with_recipients(list.iter().map(|r| r as &dyn age::Recipient))
        }
    }
    .map_err(|e| format!("cannot set up age encryption: {e}"))?;

    let mut out = Vec::new();
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| format!("age encryption failed: {e}"))?;
    writer
        .write_all(pkcs8.der())
        .and_then(|()| writer.finish().map(drop))
        .map_err(|e| format!("age encryption failed: {e}"))?;
    Ok(out)
}

/// Why a sealed key could not be opened.
#[derive(Debug)]
pub enum UnsealError {
    /// The passphrase or identity does not open this file.
    WrongSecret,
    /// The file is not an intact age file.
    Damaged(String),
}

/// Decrypts a sealed private key with a passphrase.
pub fn unseal_with_passphrase(
    sealed: &[u8],
    passphrase: SecretString,
) -> Result<Pkcs8, UnsealError> {
    let identity = age::scrypt::Identity::new(passphrase);
    unseal(sealed, &identity)
}

/// Decrypts a sealed private key with any age identity.
pub fn unseal(sealed: &[u8], identity: &dyn age::Identity) -> Result<Pkcs8, UnsealError> {
    decrypt(sealed, std::iter::once(identity))
}

/// Decrypts a sealed private key with any one of several age identities.
pub fn unseal_with_identities(
    sealed: &[u8],
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<Pkcs8, UnsealError> {
    decrypt(
        sealed,
        identities.iter().map(|i| i.as_ref() as &dyn age::Identity),
    )
}

fn decrypt<'a>(
    sealed: &[u8],
    identities: impl Iterator<Item = &'a dyn age::Identity>,
) -> Result<Pkcs8, UnsealError> {
    let decryptor = age::Decryptor::new_buffered(sealed).map_err(damaged)?;
    let mut reader = decryptor.decrypt(identities).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => {
            UnsealError::WrongSecret
        }
        other => damaged(other),
    })?;
    let mut der = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut der)
        .map_err(|e| UnsealError::Damaged(format!("the encrypted key is damaged: {e}")))?;
    Ok(Pkcs8(der))
}

fn damaged(e: age::DecryptError) -> UnsealError {
    UnsealError::Damaged(format!("not a readable age file: {e}"))
}

/// Test builds may lower age's scrypt work factor, which otherwise costs
/// about a second per key. Release builds always use age's calibration.
fn test_scrypt_work_factor() -> Option<u8> {
    #[cfg(feature = "test-hooks")]
    if let Ok(v) = std::env::var("COVENANT_TEST_SCRYPT_LOG_N") {
        return v.parse().ok();
    }
    None
}

/// A private key ready to sign, with its public JWK.
pub struct SigningKey {
    jwk: Jwk,
    /// The PKCS#8 document, for jsonwebtoken's own `encode`; zeroized by
    /// jsonwebtoken when dropped.
    encoding: jsonwebtoken::EncodingKey,
    /// The same key parsed once by ring, which minting signs with.
    signer: RingSigner,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} {})", self.jwk.alg, self.jwk.kid)
    }
}

impl SigningKey {
    /// Loads an unsealed key, checking that it is the key `jwk` describes:
    /// a key file swapped for another key is refused here.
    pub fn new(jwk: &Jwk, pkcs8: &Pkcs8) -> Result<SigningKey, String> {
        let public = public_key(jwk.alg, pkcs8)?;
        if public != jwk.key {
            return Err(format!(
                "the key file holds a different key (thumbprint {}) than {}",
                public.kid(),
                jwk.kid
            ));
        }
        let encoding = match jwk.alg {
            Algorithm::ES256 | Algorithm::ES384 => {
                jsonwebtoken::EncodingKey::from_ec_der(pkcs8.der())
            }
            Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_der(pkcs8.der()),
            Algorithm::RS256 | Algorithm::PS256 => {
                jsonwebtoken::EncodingKey::from_rsa_der(pkcs8.der())
            }
        };
        let signer = RingSigner::new(jwk.alg, &encoding)
            .map_err(|e| format!("ring cannot sign with the {} key: {e}", jwk.alg))?;
        Ok(SigningKey {
            jwk: jwk.clone(),
            encoding,
            signer,
        })
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    pub fn encoding_key(&self) -> &jsonwebtoken::EncodingKey {
        &self.encoding
    }

    /// The parsed key, to sign many messages without parsing it again.
    pub fn signer(&self) -> &RingSigner {
        &self.signer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_match_their_algorithm() {
        for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
            let key = generate(alg, 0).unwrap();
            let public = public_key(alg, &key).unwrap();
            assert!(public.fits(alg));
            let other = if alg == Algorithm::EdDSA {
                Algorithm::ES256
            } else {
                Algorithm::EdDSA
            };
            assert!(public_key(other, &key).is_err());
        }
    }

    #[test]
    fn ed25519_keys_are_pkcs8_v1_without_the_public_key() {
        let key = generate(Algorithm::EdDSA, 0).unwrap();
        // RFC 8410 section 7: version 0, id-Ed25519, then the 32-byte seed.
        assert_eq!(key.der().len(), 48);
        assert_eq!(
            key.der()[..16],
            [
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
        let jwk = Jwk::new(
            public_key(Algorithm::EdDSA, &key).unwrap(),
            Algorithm::EdDSA,
        );
        assert!(SigningKey::new(&jwk, &key).is_ok());
    }

    #[test]
    fn seal_round_trip_and_wrong_passphrase() {
        let key = generate(Algorithm::EdDSA, 0).unwrap();
        let mut recipient_pass = age::scrypt::Recipient::new(SecretString::from("right"));
        recipient_pass.set_work_factor(2);
        let sealed = {
            let enc = age::Encryptor::with_recipients(std::iter::once(
                &recipient_pass as &dyn age::Recipient,
            ))
            .unwrap();
            let mut out = Vec::new();
            let mut w = enc.wrap_output(&mut out).unwrap();
            w.write_all(key.der()).unwrap();
            w.finish().unwrap();
            out
        };
        let opened = unseal_with_passphrase(&sealed, SecretString::from("right")).unwrap();
        assert_eq!(opened.der(), key.der());
        assert!(matches!(
            unseal_with_passphrase(&sealed, SecretString::from("wrong")),
            Err(UnsealError::WrongSecret)
        ));
        assert!(matches!(
            unseal_with_passphrase(&sealed[..sealed.len() - 1], SecretString::from("right")),
            Err(UnsealError::Damaged(_))
        ));
    }
}
