//! Public keys as JSON Web Keys (RFC 7517), their RFC 7638 thumbprints, and
//! JWK Sets.
//!
//! Every key covenant creates is named by its thumbprint: the SHA-256 of the
//! key's required members in a fixed canonical form, base64url-encoded. The
//! same 32 bytes, in hex, are the fingerprint that people compare aloud.
//! Parsing is strict, because a JWKS is input from outside: sizes are
//! checked, private members are refused, and an `alg` that contradicts the
//! key type is an error.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pkcs8::spki;
use ring::digest;
use serde_json::{Map, Value, json};

use crate::algorithm::Algorithm;

/// Members that only private JWKs carry (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: [&str; 9] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"];

/// The smallest RSA modulus covenant accepts, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// The key material of a public JWK.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// An uncompressed point on P-256 or P-384.
    Ec {
        curve: Curve,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    /// An Ed25519 public key (RFC 8037).
    Ed25519 { x: Vec<u8> },
    /// An RSA public key, big-endian with no leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// The NIST curves covenant uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

impl Curve {
    fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

/// A public signing key with the algorithm it signs with and its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct Jwk {
    pub key: PublicKey,
    pub alg: Algorithm,
    pub kid: String,
}

impl std::fmt::Debug for Jwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Jwk({} {})", self.alg, self.kid)
    }
}

impl PublicKey {
    /// The RFC 7638 §3.2 thumbprint input: the required members only, in
    /// lexicographic order, with no white space.
    pub fn thumbprint_input(&self) -> String {
        let mut members = BTreeMap::new();
        self.insert_required(&mut members);
        serde_json::to_string(&members).expect("a map of strings always serialises")
    }

    /// The RFC 7638 thumbprint with SHA-256, raw.
    pub fn thumbprint(&self) -> [u8; 32] {
        let d = digest::digest(&digest::SHA256, self.thumbprint_input().as_bytes());
        d.as_ref().try_into().expect("SHA-256 digests are 32 bytes")
    }

    /// The RFC 7638 thumbprint, base64url: covenant's key id.
    pub fn kid(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.thumbprint())
    }

    /// The algorithm a key of this type implies, when there is only one.
    fn implied_alg(&self) -> Option<Algorithm> {
        match self {
            PublicKey::Ec {
                curve: Curve::P256, ..
            } => Some(Algorithm::ES256),
            PublicKey::Ec {
                curve: Curve::P384, ..
            } => Some(Algorithm::ES384),
            PublicKey::Ed25519 { .. } => Some(Algorithm::EdDSA),
            PublicKey::Rsa { .. } => None,
        }
    }

    /// Whether this key can sign with `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        match self.implied_alg() {
            Some(implied) => implied == alg,
            None => alg.is_rsa(),
        }
    }

    /// The uncompressed SEC1 point (EC) or raw key (Ed25519) ring verifies
    /// with; for RSA, see `Rsa`'s components.
    pub fn ring_bytes(&self) -> Vec<u8> {
        match self {
            PublicKey::Ec { x, y, .. } => [&[0x04][..], x, y].concat(),
            PublicKey::Ed25519 { x } => x.clone(),
            PublicKey::Rsa { n, .. } => n.clone(),
        }
    }

    fn insert_required(&self, m: &mut BTreeMap<&'static str, String>) {
        match self {
            PublicKey::Ec { curve, x, y } => {
                m.insert("kty", "EC".into());
                m.insert("crv", curve.name().into());
                m.insert("x", URL_SAFE_NO_PAD.encode(x));
                m.insert("y", URL_SAFE_NO_PAD.encode(y));
            }
            PublicKey::Ed25519 { x } => {
                m.insert("kty", "OKP".into());
                m.insert("crv", "Ed25519".into());
                m.insert("x", URL_SAFE_NO_PAD.encode(x));
            }
            PublicKey::Rsa { n, e } => {
                m.insert("kty", "RSA".into());
                m.insert("n", URL_SAFE_NO_PAD.encode(n));
                m.insert("e", URL_SAFE_NO_PAD.encode(e));
            }
        }
    }
}

impl Jwk {
    /// A JWK for `key`, named by its thumbprint.
    pub fn new(key: PublicKey, alg: Algorithm) -> Jwk {
        let kid = key.kid();
        Jwk { key, alg, kid }
    }

    /// The JWK as published: required members plus `kid`, `alg` and
    /// `use: "sig"`.
    pub fn to_json(&self) -> Value {
        let mut members = BTreeMap::new();
        self.key.insert_required(&mut members);
        let mut obj: Map<String, Value> = members
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
        obj.insert("kid".into(), Value::String(self.kid.clone()));
        obj.insert("alg".into(), Value::String(self.alg.name().into()));
        obj.insert("use".into(), Value::String("sig".into()));
        Value::Object(obj)
    }

    /// Reads a public JWK, strictly. `kid` is required; `alg` is required
    /// for RSA keys (which could otherwise serve RS256 or PS256) and must
    /// agree with the key type when present.
    pub fn from_json(value: &Value) -> Result<Jwk, String> {
        let obj = value.as_object().ok_or("a JWK must be a JSON object")?;
        if let Some(private) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
            return Err(format!(
                "the JWK holds private key material (member {private:?}); publish public keys only"
            ));
        }
        let kty = string_member(obj, "kty")?;
        let key = match kty {
            "EC" => {
                let curve = match string_member(obj, "crv")? {
                    "P-256" => Curve::P256,
                    "P-384" => Curve::P384,
                    other => return Err(format!("unsupported EC curve {other:?}")),
                };
                let x = bytes_member(obj, "x")?;
                let y = bytes_member(obj, "y")?;
                let len = curve.coordinate_len();
                if x.len() != len || y.len() != len {
                    return Err(format!(
                        "{} coordinates must be {len} bytes each",
                        curve.name()
                    ));
                }
                PublicKey::Ec { curve, x, y }
            }
            "OKP" => {
                match string_member(obj, "crv")? {
                    "Ed25519" => {}
                    other => return Err(format!("unsupported OKP curve {other:?}")),
                }
                let x = bytes_member(obj, "x")?;
                if x.len() != 32 {
                    return Err("an Ed25519 key must be 32 bytes".into());
                }
                PublicKey::Ed25519 { x }
            }
            "RSA" => {
                let n = bytes_member(obj, "n")?;
                let e = bytes_member(obj, "e")?;
                if n.first() == Some(&0) || e.first() == Some(&0) {
                    return Err("RSA n and e must have no leading zero bytes".into());
                }
                if n.len() * 8 < MIN_RSA_BITS {
                    return Err(format!("RSA keys under {MIN_RSA_BITS} bits are refused"));
                }
                PublicKey::Rsa { n, e }
            }
            other => return Err(format!("unsupported key type {other:?}")),
        };

        let alg = match obj.get("alg") {
            Some(Value::String(name)) => name.parse::<Algorithm>()?,
            Some(_) => return Err("\"alg\" must be a string".into()),
            None => key
                .implied_alg()
                .ok_or("an RSA JWK must name its \"alg\" (RS256 or PS256)")?,
        };
        if !key.fits(alg) {
            return Err(format!(
                "\"alg\" {alg} does not fit a {kty} key of this curve"
            ));
        }
        if let Some(u) = obj.get("use")
            && u != "sig"
        {
            return Err(format!("\"use\" is {u}, not \"sig\""));
        }
        let kid = string_member(obj, "kid")?.to_string();
        Ok(Jwk { key, alg, kid })
    }
}

impl PublicKey {
    /// The key as a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), with the
    /// algorithm identifiers of RFC 5480 (EC), RFC 8410 (Ed25519) and
    /// RFC 3279 (RSA, whose parameters are an explicit NULL).
    pub fn to_spki(&self) -> spki::SubjectPublicKeyInfoOwned {
        use spki::der::asn1::{Any, BitString, Null};

        let oid = |s: &str| spki::ObjectIdentifier::new_unwrap(s);
        let (algorithm, parameters, key) = match self {
            PublicKey::Ec { curve, .. } => {
                let named = match curve {
                    Curve::P256 => oid("1.2.840.10045.3.1.7"),
                    Curve::P384 => oid("1.3.132.0.34"),
                };
                let params = Any::encode_from(&named).expect("an OID always encodes");
                (oid("1.2.840.10045.2.1"), Some(params), self.ring_bytes())
            }
            PublicKey::Ed25519 { x } => (oid("1.3.101.112"), None, x.clone()),
            PublicKey::Rsa { n, e } => {
                let der = rsa_public_key_der(n, e);
                let null = Any::encode_from(&Null).expect("NULL always encodes");
                (oid("1.2.840.113549.1.1.1"), Some(null), der)
            }
        };
        spki::SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned {
                oid: algorithm,
                parameters,
            },
            subject_public_key: BitString::from_bytes(&key).expect("key bytes fit a BIT STRING"),
        }
    }

    /// The key as a PEM `PUBLIC KEY` document (RFC 7468 §13).
    pub fn to_spki_pem(&self) -> String {
        use spki::der::EncodePem;
        self.to_spki()
            .to_pem(spki::der::pem::LineEnding::LF)
            .expect("a SubjectPublicKeyInfo always encodes")
    }
}

/// The PKCS#1 RSAPublicKey (RFC 8017 §A.1.1): a SEQUENCE of the modulus
/// and the exponent as DER INTEGERs.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    use spki::der::asn1::UintRef;
    use spki::der::{Encode, Header, Length, Tag};

    let mut body = Vec::new();
    for part in [n, e] {
        UintRef::new(part)
            .and_then(|u| u.encode_to_vec(&mut body))
            .expect("RSA components are checked positive integers");
    }
    let len = Length::try_from(body.len()).expect("an RSA key fits a DER length");
    let mut der = Vec::new();
    Header::new(Tag::Sequence, len)
        .encode_to_vec(&mut der)
        .expect("a SEQUENCE header always encodes");
    der.extend(body);
    der
}

/// Builds a JWK Set document from keys.
pub fn jwks(keys: &[Jwk]) -> Value {
    json!({ "keys": keys.iter().map(Jwk::to_json).collect::<Vec<_>>() })
}

/// Reads the keys of a JWK Set. Duplicate key ids are refused, since a
/// verifier could then not tell which key a token names.
pub fn parse_jwks(value: &Value) -> Result<Vec<Jwk>, String> {
    let keys = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("a JWKS must be an object with a \"keys\" array")?;
    let mut out: Vec<Jwk> = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let jwk = Jwk::from_json(k).map_err(|e| format!("keys[{i}]: {e}"))?;
        if out.iter().any(|o| o.kid == jwk.kid) {
            return Err(format!("keys[{i}]: kid {:?} appears twice", jwk.kid));
        }
        out.push(jwk);
    }
    Ok(out)
}

fn string_member<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{name:?} must be a string")),
        None => Err(format!("missing {name:?}")),
    }
}

fn bytes_member(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(string_member(obj, name)?)
        .map_err(|e| format!("{name:?} is not unpadded base64url: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the example RSA key and its thumbprint.
    #[test]
    fn rfc7638_example_thumbprint() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let key = Jwk::from_json(
            &json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}),
        )
        .unwrap()
        .key;
        assert_eq!(key.kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    /// RFC 8037 appendix A.3: the Ed25519 example key's thumbprint.
    #[test]
    fn rfc8037_example_thumbprint() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k"});
        let key = Jwk::from_json(&jwk).unwrap().key;
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn private_members_are_refused() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "k",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"});
        assert!(Jwk::from_json(&jwk).unwrap_err().contains("private"));
    }

    #[test]
    fn alg_must_fit_the_key() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "ES256",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert!(Jwk::from_json(&jwk).is_err());
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "HS256",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert!(Jwk::from_json(&jwk).is_err());
    }

    /// The DER prefixes are the fixed algorithm identifiers of RFC 8410
    /// §4 (Ed25519) and RFC 3279 (rsaEncryption with NULL parameters).
    #[test]
    fn spki_export_uses_the_standard_algorithm_identifiers() {
        use spki::der::Encode;
        let ed = Jwk::from_json(&json!({"kty": "OKP", "crv": "Ed25519", "kid": "k",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}))
        .unwrap();
        let der = ed.key.to_spki().to_der().unwrap();
        assert_eq!(hex::encode(&der[..12]), "302a300506032b6570032100");
        assert!(
            ed.key
                .to_spki_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );

        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let rsa =
            Jwk::from_json(&json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "k"}))
                .unwrap();
        let der = rsa.key.to_spki().to_der().unwrap();
        assert_eq!(
            hex::encode(&der[..19]),
            "30820122300d06092a864886f70d0101010500"
        );
        assert_eq!(der.len(), 294);
    }

    #[test]
    fn padded_base64_is_refused() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "k",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="});
        assert!(Jwk::from_json(&jwk).is_err());
    }
}
