//! jsonwebtoken's cryptography, done by ring.
//!
//! jsonwebtoken 12 leaves signing and verifying to a `CryptoProvider`.
//! covenant installs this one, so that every signature it makes or checks
//! goes through ring, the same library that generates and loads its keys:
//! one cryptographic stack. The provider knows only covenant's five
//! asymmetric algorithms. HMAC and every other algorithm are refused at
//! the factory, so no code path can verify a token with a public key used
//! as an HMAC secret.

use std::sync::Once;

use ::signature as signature_crate;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::{Algorithm as JwtAlgorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair};

use crate::algorithm::Algorithm;

/// covenant's provider: ring for everything.
pub static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_from_private_key,
        rsa_pub_components_from_public_key: rsa_components_from_public_key,
        ec_pub_components_from_private_key: ec_components_from_private_key,
        ed_pub_components_from_private_key: ed_component_from_private_key,
        compute_digest,
    },
};

/// Makes ring the process's jsonwebtoken provider. Safe to call any number
/// of times; every entry point that signs or verifies calls it.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Failure means another provider was installed first, which only
        // covenant itself could have done; nothing else links jsonwebtoken
        // with a provider.
        let _ = RING_PROVIDER.install_default();
    });
}

fn supported(alg: &JwtAlgorithm) -> Result<Algorithm, JwtError> {
    Algorithm::from_jsonwebtoken(*alg).ok_or_else(|| ErrorKind::InvalidAlgorithm.into())
}

/// A private key parsed by ring, ready to sign.
enum RingKeyPair {
    Ecdsa(signature::EcdsaKeyPair),
    Ed25519(signature::Ed25519KeyPair),
    Rsa(signature::RsaKeyPair, &'static dyn signature::RsaEncoding),
}

/// A private key parsed once and kept for any number of signatures.
///
/// jsonwebtoken's `encode` asks the provider's factory for a new signer on
/// every call, and the factory parses the PKCS#8 document again each time;
/// for ECDSA that parse (a scalar multiplication to check the public key)
/// costs about as much as the signature. Minting many tokens therefore
/// builds one `RingSigner` and signs through its `JwtSigner` interface,
/// the same code the factory hands to jsonwebtoken, so there is still one
/// cryptographic stack.
///
/// ring keeps the parsed key in its own types, which it does not wipe when
/// they are dropped; the PKCS#8 bytes it was parsed from are the caller's
/// to zeroize (`jsonwebtoken::EncodingKey` does so on drop).
pub struct RingSigner {
    alg: Algorithm,
    pair: RingKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for RingSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RingSigner({}, private key redacted)", self.alg)
    }
}

fn new_signer(alg: &JwtAlgorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, JwtError> {
    Ok(Box::new(RingSigner::new(supported(alg)?, key)?))
}

impl RingSigner {
    /// Parses `key` for signing with `alg`. Only covenant's five
    /// asymmetric algorithms are accepted.
    pub fn new(alg: Algorithm, key: &EncodingKey) -> Result<RingSigner, JwtError> {
        if key.family() != alg.to_jsonwebtoken().family() {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        let der = key.as_bytes();
        let rng = SystemRandom::new();
        let pair = match alg {
            Algorithm::ES256 | Algorithm::ES384 => {
                let signing = if alg == Algorithm::ES256 {
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_FIXED_SIGNING
                };
                signature::EcdsaKeyPair::from_pkcs8(signing, der, &rng)
                    .map(RingKeyPair::Ecdsa)
                    .map_err(|_| ErrorKind::InvalidEcdsaKey)?
            }
            Algorithm::EdDSA => signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map(RingKeyPair::Ed25519)
                .map_err(|_| ErrorKind::InvalidEddsaKey)?,
            Algorithm::RS256 | Algorithm::PS256 => {
                let encoding: &'static dyn signature::RsaEncoding = if alg == Algorithm::RS256 {
                    &signature::RSA_PKCS1_SHA256
                } else {
                    &signature::RSA_PSS_SHA256
                };
                signature::RsaKeyPair::from_pkcs8(der)
                    .map(|pair| RingKeyPair::Rsa(pair, encoding))
                    .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?
            }
        };
        Ok(RingSigner { alg, pair, rng })
    }
}

impl signature_crate::Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature_crate::Error> {
        let failed = |_| signature_crate::Error::new();
        match &self.pair {
            RingKeyPair::Ecdsa(pair) => pair
                .sign(&self.rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(failed),
            RingKeyPair::Ed25519(pair) => Ok(pair.sign(msg).as_ref().to_vec()),
            RingKeyPair::Rsa(pair, encoding) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(*encoding, &self.rng, msg, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
        }
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> JwtAlgorithm {
        self.alg.to_jsonwebtoken()
    }
}

/// A public key and the ring algorithm that verifies with it.
struct RingVerifier {
    alg: Algorithm,
    key: DecodingKey,
}

fn new_verifier(alg: &JwtAlgorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, JwtError> {
    let alg = supported(alg)?;
    if key.family() != alg.to_jsonwebtoken().family() {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(RingVerifier {
        alg,
        key: key.clone(),
    }))
}

impl signature_crate::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature_crate::Error> {
        let bad = |_| signature_crate::Error::new();
        let fixed: &'static dyn signature::VerificationAlgorithm = match self.alg {
            // The FIXED variants accept only the 64- or 96-byte r||s form
            // that JWS prescribes (RFC 7518 §3.4); DER signatures fail.
            Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
            Algorithm::EdDSA => &signature::ED25519,
            Algorithm::RS256 | Algorithm::PS256 => {
                let params = if self.alg == Algorithm::RS256 {
                    &signature::RSA_PKCS1_2048_8192_SHA256
                } else {
                    &signature::RSA_PSS_2048_8192_SHA256
                };
                return match self.key.kind() {
                    DecodingKeyKind::RsaModulusExponent { n, e } => {
                        signature::RsaPublicKeyComponents { n, e }
                            .verify(params, msg, sig)
                            .map_err(bad)
                    }
                    DecodingKeyKind::SecretOrDer(der) => {
                        signature::UnparsedPublicKey::new(params, der)
                            .verify(msg, sig)
                            .map_err(bad)
                    }
                };
            }
        };
        let bytes = self
            .key
            .try_get_as_bytes()
            .map_err(|_| signature_crate::Error::new())?;
        signature::UnparsedPublicKey::new(fixed, bytes)
            .verify(msg, sig)
            .map_err(bad)
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> JwtAlgorithm {
        self.alg.to_jsonwebtoken()
    }
}

fn rsa_components_from_private_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    let pair = signature::RsaKeyPair::from_pkcs8(der)
        .or_else(|_| signature::RsaKeyPair::from_der(der))
        .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?;
    let public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
    Ok((public.n, public.e))
}

fn rsa_components_from_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    // ring has no parser for a bare RSAPublicKey; the pkcs1 structure is
    // two DER integers, which the `pkcs8` crate's DER reader decodes.
    use pkcs8::der::{Decode, Reader, SliceReader, asn1::UintRef};
    let invalid = |_| JwtError::from(ErrorKind::InvalidRsaKey("not an RSAPublicKey".into()));
    let mut reader = SliceReader::new(der).map_err(invalid)?;
    reader
        .sequence(|seq| {
            let n = UintRef::decode(seq)?;
            let e = UintRef::decode(seq)?;
            Ok((n.as_bytes().to_vec(), e.as_bytes().to_vec()))
        })
        .map_err(invalid)
}

fn ec_components_from_private_key(
    der: &[u8],
    alg: JwtAlgorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>), JwtError> {
    let (curve, signing) = match alg {
        JwtAlgorithm::ES256 => (
            EllipticCurve::P256,
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        ),
        JwtAlgorithm::ES384 => (
            EllipticCurve::P384,
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        ),
        _ => return Err(ErrorKind::InvalidEcdsaKey.into()),
    };
    let pair = signature::EcdsaKeyPair::from_pkcs8(signing, der, &SystemRandom::new())
        .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
    let point = pair.public_key().as_ref();
    let (x, y) = point[1..].split_at((point.len() - 1) / 2);
    Ok((curve, x.to_vec(), y.to_vec()))
}

fn ed_component_from_private_key(der: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>, JwtError> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let pair = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(pair.public_key().as_ref().to_vec())
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, JwtError> {
    let alg = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(ring::digest::digest(alg, data).as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key;

    #[test]
    fn hmac_is_refused_even_with_a_secret_key() {
        install();
        let key = DecodingKey::from_secret(b"public key bytes used as a secret").unwrap();
        assert!(new_verifier(&JwtAlgorithm::HS256, &key).is_err());
        let key = EncodingKey::from_secret(b"secret").unwrap();
        assert!(new_signer(&JwtAlgorithm::HS256, &key).is_err());
    }

    #[test]
    fn a_parsed_signer_prints_its_algorithm_and_nothing_of_the_key() {
        let pkcs8 = key::generate(Algorithm::EdDSA, 0).unwrap();
        let encoding = EncodingKey::from_ed_der(pkcs8.der());
        let signer = RingSigner::new(Algorithm::EdDSA, &encoding).unwrap();
        assert_eq!(
            format!("{signer:?}"),
            "RingSigner(EdDSA, private key redacted)"
        );
        assert!(RingSigner::new(Algorithm::ES256, &encoding).is_err());
    }

    #[test]
    fn every_algorithm_signs_and_verifies_through_jsonwebtoken() {
        install();
        for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
            let pkcs8 = key::generate(alg, 0).unwrap();
            let public = key::public_key(alg, &pkcs8).unwrap();
            let jwk = crate::jwk::Jwk::new(public, alg);
            let signer = key::SigningKey::new(&jwk, &pkcs8).unwrap();
            let sig =
                jsonwebtoken::crypto::sign(b"msg", signer.encoding_key(), alg.to_jsonwebtoken())
                    .unwrap();
            let decoding = crate::verify::decoding_key(&jwk).unwrap();
            assert!(
                jsonwebtoken::crypto::verify(&sig, b"msg", &decoding, alg.to_jsonwebtoken())
                    .unwrap()
            );
            assert!(
                !jsonwebtoken::crypto::verify(&sig, b"msh", &decoding, alg.to_jsonwebtoken())
                    .unwrap()
            );
        }
    }
}
