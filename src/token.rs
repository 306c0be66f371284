//! Minting: a checked contract and an unlocked key become a signed JWT.
//!
//! The header is `{alg, typ: "JWT", kid}` and nothing else: no `jku`,
//! `x5u` or `jwk` that would tell a verifier to fetch or trust a key from
//! somewhere else. The claims are the contract's and nothing more:
//! `iss` from the policy, `sub` (the partner), one `aud`, `iat`, `nbf` and
//! `exp` as integer NumericDates, a random `jti`, the space-separated
//! `scope`, a `contract` object binding the token to the contract file's
//! digest, and the contract's `[claims]`.
//!
//! A [`Minter`] holds what every token signed by one key at one time
//! shares: the key parsed once by ring and the encoded header. It builds
//! the signing input exactly as `jsonwebtoken::encode` does (base64url of
//! serde_json's bytes, joined by a dot) and signs it through the
//! provider's `JwtSigner`, so a token is byte-for-byte what jsonwebtoken
//! would have produced, without re-parsing the private key per token.
//! [`mint_batch`] signs many contracts on all cores, in order.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use jsonwebtoken::crypto::JwtSigner;
use jsonwebtoken::signature::Signer;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::contract::Contract;
use crate::key::SigningKey;
use crate::store::sha256_hex;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: &'a str,
    scope: String,
    contract: ContractClaim<'a>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct ContractClaim<'a> {
    id: &'a str,
    sha256: &'a str,
}

/// A freshly signed token and what the ledger records of it.
pub struct Minted {
    /// The compact JWS. A bearer secret: wiped from memory when dropped.
    pub token: Zeroizing<String>,
    pub jti: String,
    pub iat: Timestamp,
    /// SHA-256 of the token's ASCII bytes, lowercase hex.
    pub sha256: String,
}

/// A fresh `jti`: 128 random bits, base64url.
pub fn new_jti(rng: &SystemRandom) -> String {
    let mut bytes = [0u8; JTI_BYTES];
    rng.fill(&mut bytes)
        .expect("the system random generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

const JTI_BYTES: usize = 16;

/// The longest signature covenant makes: RSA with a 4096-bit modulus.
const MAX_SIGNATURE_BYTES: usize = 512;

/// Signs tokens with one key, for one issuer, at one time.
pub struct Minter<'a> {
    key: &'a SigningKey,
    issuer: &'a str,
    now: Timestamp,
    /// The base64url header, the same for every token of this key.
    header: String,
}

impl<'a> Minter<'a> {
    pub fn new(key: &'a SigningKey, issuer: &'a str, now: Timestamp) -> Result<Minter<'a>, String> {
        let jwk = key.jwk();
        let mut header = jsonwebtoken::Header::new(jwk.alg.to_jsonwebtoken());
        header.kid = Some(jwk.kid.clone());
        // jsonwebtoken's encode makes the same check: a signer for another
        // algorithm than the header names would make a token no one accepts.
        if key.signer().algorithm() != header.alg {
            return Err(format!(
                "the signer is for {:?}, not {}",
                key.signer().algorithm(),
                jwk.alg
            ));
        }
        let json = serde_json::to_vec(&header).map_err(|e| format!("signing failed: {e}"))?;
        Ok(Minter {
            key,
            issuer,
            now,
            header: URL_SAFE_NO_PAD.encode(json),
        })
    }

    /// Signs the token for `contract`.
    pub fn mint(&self, contract: &Contract, jti: String) -> Result<Minted, String> {
        let claims = Claims {
            iss: self.issuer,
            sub: &contract.partner,
            aud: &contract.audience,
            iat: self.now.as_second(),
            nbf: contract.nbf.as_second(),
            exp: contract.exp.as_second(),
            jti: &jti,
            scope: contract.scopes.join(" "),
            contract: ContractClaim {
                id: &contract.id,
                sha256: &contract.sha256,
            },
            extra: &contract.claims,
        };
        let json = serde_json::to_vec(&claims).map_err(|e| format!("signing failed: {e}"))?;

        // Sized once, so that growing the string never leaves a copy of
        // the token behind in freed memory.
        let capacity = self.header.len()
            + 2
            + base64::encoded_len(json.len(), false).unwrap_or(0)
            + base64::encoded_len(MAX_SIGNATURE_BYTES, false).unwrap_or(0);
        let mut token = Zeroizing::new(String::with_capacity(capacity));
        token.push_str(&self.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&json, &mut token);
        let signature = Zeroizing::new(
            self.key
                .signer()
                .try_sign(token.as_bytes())
                .map_err(|e| format!("signing failed: {e}"))?,
        );
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&*signature, &mut token);

        let sha256 = sha256_hex(token.as_bytes());
        Ok(Minted {
            token,
            jti,
            iat: self.now,
            sha256,
        })
    }
}

/// Signs the token for `contract` with `key` at time `now`.
pub fn mint(
    key: &SigningKey,
    issuer: &str,
    contract: &Contract,
    jti: String,
    now: Timestamp,
) -> Result<Minted, String> {
    Minter::new(key, issuer, now)?.mint(contract, jti)
}

/// Below this many tokens a batch is signed on one thread: starting the
/// others would cost more than it saves.
pub const PARALLEL_MIN: usize = 64;

/// How many threads sign a batch of `n` tokens: one per core, once the
/// batch is large enough to gain from it.
pub fn batch_threads(n: usize) -> usize {
    if n < PARALLEL_MIN {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Tokens signed between two calls of the progress callback.
pub const PROGRESS_STEP: usize = 64;

/// Signs one token per contract on `threads` threads. The tokens come
/// back in the order of `contracts`, whatever the number of threads.
/// `progress` is called from the signing threads with the number of
/// tokens signed since its last call.
pub fn mint_batch(
    minter: &Minter<'_>,
    contracts: &[Contract],
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Minted>, String> {
    let threads = threads.clamp(1, contracts.len().max(1));
    if threads == 1 {
        return mint_run(minter, contracts, progress);
    }
    // Contiguous runs, joined in order, keep the result deterministic.
    let run = contracts.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = contracts
            .chunks(run)
            .map(|part| scope.spawn(move || mint_run(minter, part, progress)))
            .collect();
        let mut all = Vec::with_capacity(contracts.len());
        for handle in handles {
            let part = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            all.extend(part);
        }
        Ok(all)
    })
}

/// Signs a run of contracts on the calling thread. The `jti`s are drawn
/// from the system generator a block at a time rather than one system
/// call per token.
fn mint_run(
    minter: &Minter<'_>,
    contracts: &[Contract],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Minted>, String> {
    let rng = SystemRandom::new();
    let mut random = [0u8; JTI_BYTES * PROGRESS_STEP];
    let mut minted = Vec::with_capacity(contracts.len());
    for block in contracts.chunks(PROGRESS_STEP) {
        let random = &mut random[..JTI_BYTES * block.len()];
        rng.fill(random)
            .map_err(|_| "the system random generator failed".to_string())?;
        for (contract, bytes) in block.iter().zip(random.chunks(JTI_BYTES)) {
            minted.push(minter.mint(contract, URL_SAFE_NO_PAD.encode(bytes))?);
        }
        progress(block.len());
    }
    Ok(minted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Algorithm;
    use crate::jwk::Jwk;
    use crate::key;
    use crate::policy::Policy;

    const POLICY: &str = include_str!("../docs/examples/policy.toml");
    const ACME: &str = include_str!("../docs/examples/acme-logistics.toml");

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    fn signing_key(alg: Algorithm) -> SigningKey {
        let pkcs8 = key::generate(alg, 0).unwrap();
        let jwk = Jwk::new(key::public_key(alg, &pkcs8).unwrap(), alg);
        SigningKey::new(&jwk, &pkcs8).unwrap()
    }

    fn contract(id: &str) -> Contract {
        let policy = Policy::parse(std::path::Path::new("covenant.toml"), POLICY).unwrap();
        let text = ACME.replacen("ACME-2026-001", id, 1);
        Contract::check(
            std::path::Path::new("c.toml"),
            text.as_bytes(),
            &policy,
            now(),
        )
        .unwrap()
    }

    #[test]
    fn a_token_is_byte_for_byte_what_jsonwebtoken_encode_makes() {
        // Ed25519 signatures are deterministic, so the two can be compared.
        crate::provider::install();
        let key = signing_key(Algorithm::EdDSA);
        let acme = contract("ACME-2026-001");
        let ours = mint(
            &key,
            "https://issuer.example.com",
            &acme,
            "jti-1".into(),
            now(),
        )
        .unwrap();

        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(key.jwk().kid.clone());
        let claims = Claims {
            iss: "https://issuer.example.com",
            sub: &acme.partner,
            aud: &acme.audience,
            iat: now().as_second(),
            nbf: acme.nbf.as_second(),
            exp: acme.exp.as_second(),
            jti: "jti-1",
            scope: acme.scopes.join(" "),
            contract: ContractClaim {
                id: &acme.id,
                sha256: &acme.sha256,
            },
            extra: &acme.claims,
        };
        let theirs = jsonwebtoken::encode(&header, &claims, key.encoding_key()).unwrap();
        assert_eq!(ours.token.as_str(), theirs);
        assert_eq!(ours.sha256, sha256_hex(theirs.as_bytes()));
    }

    #[test]
    fn a_batch_on_two_threads_keeps_the_contracts_order_and_every_token_verifies() {
        let key = signing_key(Algorithm::ES256);
        let minter = Minter::new(&key, "https://issuer.example.com", now()).unwrap();
        let contracts: Vec<Contract> = (0..PARALLEL_MIN * 2 + 3)
            .map(|i| contract(&format!("C-{i:03}")))
            .collect();
        let signed = std::sync::atomic::AtomicUsize::new(0);
        let minted = mint_batch(&minter, &contracts, 2, &|n| {
            signed.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();

        assert_eq!(signed.into_inner(), contracts.len());
        assert_eq!(minted.len(), contracts.len());
        let expect = crate::verify::Expectations {
            audience: Some(contracts[0].audience.clone()),
            issuer: Some("https://issuer.example.com".into()),
            leeway_seconds: 0,
            now: contracts[0].nbf,
        };
        let mut jtis = std::collections::HashSet::new();
        for (i, token) in minted.iter().enumerate() {
            let verified =
                crate::verify::verify(&token.token, std::slice::from_ref(key.jwk()), &expect)
                    .unwrap();
            assert_eq!(verified.claims["contract"]["id"], format!("C-{i:03}"));
            assert_eq!(verified.claims["jti"], token.jti.as_str());
            assert!(jtis.insert(token.jti.clone()), "jti {} repeats", token.jti);
            assert_eq!(token.jti.len(), 22);
        }
    }

    #[test]
    fn small_batches_stay_on_one_thread() {
        assert_eq!(batch_threads(PARALLEL_MIN - 1), 1);
        assert!(batch_threads(PARALLEL_MIN) >= 1);
    }
}
