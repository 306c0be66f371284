//! Minting: a checked contract and an unlocked key become a signed JWT.
//!
//! The header is `{alg, typ: "JWT", kid}` and nothing else: no `jku`,
//! `x5u` or `jwk` that would tell a verifier to fetch or trust a key from
//! somewhere else. The claims are the contract's and nothing more: a
//! random `jti`, `iss` from the policy, `sub` (the partner), one `aud`,
//! `iat`, `nbf` and `exp` as integer NumericDates, the space-separated
//! `scope`, a `contract` object binding the token to the contract file's
//! digest, and the contract's `[claims]`.
//!
//! Minting has two halves, so that a batch can check every contract
//! before it signs any while holding little for each:
//!
//! - a draft: a checked contract's claims, serialised once, waiting only
//!   for a `jti`. It needs no key, and it is smaller than the contract it
//!   came from; a batch keeps its drafts packed in [`Drafts`].
//! - [`Minter`]: what every token signed by one key shares, the key parsed
//!   once by ring and the encoded header. It builds the signing input
//!   exactly as `jsonwebtoken::encode` does (base64url of the claims'
//!   JSON, joined by a dot) and signs it through the provider's
//!   `JwtSigner`, so a token is byte-for-byte what jsonwebtoken would have
//!   produced, without re-parsing the private key per token.
//!
//! What the ledger records of a token is read back from the token itself
//! ([`Issued::read`]), so the record can only describe the bytes that were
//! signed. [`mint_batch`] signs many drafts on all cores, in order.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use jsonwebtoken::crypto::JwtSigner;
use jsonwebtoken::signature::Signer;
use memmap2::MmapMut;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::contract::Contract;
use crate::key::SigningKey;
use crate::store::sha256_hex;

/// Every claim but the `jti`, in the order they are serialised.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
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

/// The payload's first member. The `jti` leads so that a draft can be
/// completed by writing it in front of the other claims.
const JTI_MEMBER: &[u8] = b"{\"jti\":\"";

/// Appends the JSON object of every claim of `contract`'s token but the
/// `jti` to `out`.
fn write_claims(contract: &Contract, issuer: &str, now: Timestamp, out: &mut Vec<u8>) {
    let claims = Claims {
        iss: issuer,
        sub: &contract.partner,
        aud: &contract.audience,
        iat: now.as_second(),
        nbf: contract.nbf.as_second(),
        exp: contract.exp.as_second(),
        scope: contract.scopes.join(" "),
        contract: ContractClaim {
            id: &contract.id,
            sha256: &contract.sha256,
        },
        extra: &contract.claims,
    };
    // Strings, integers and JSON values made from TOML, written to memory:
    // nothing serde_json can refuse.
    serde_json::to_writer(out, &claims).expect("claims always serialise");
}

/// The complete payload: `claims` (a JSON object) with `jti` in front.
fn payload_into(claims: &[u8], jti: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(JTI_MEMBER);
    out.extend_from_slice(jti.as_bytes());
    out.extend_from_slice(b"\",");
    out.extend_from_slice(&claims[1..]);
}

/// The drafts of a batch: each checked contract's claims, serialised,
/// waiting for a `jti` and a signature.
///
/// A draft is smaller than the contract it comes from, and the drafts are
/// packed back to back in blocks of anonymous memory mapped for them
/// alone. Signing unmaps each block as soon as its tokens are made, so
/// its pages go back to the system at once, whatever the allocator would
/// have kept: while the tokens take their place, a batch holds little
/// more than its tokens.
#[derive(Default)]
pub struct Drafts {
    blocks: Vec<Block>,
    len: usize,
}

/// Drafts back to back in one mapping.
struct Block {
    map: MmapMut,
    /// Where each draft ends in `map`; the last is the bytes in use.
    ends: Vec<u32>,
}

/// The size of a block, unless one draft needs more.
const BLOCK_BYTES: usize = 256 * 1024;

impl Block {
    fn new(capacity: usize) -> std::io::Result<Block> {
        Ok(Block {
            map: MmapMut::map_anon(capacity)?,
            ends: Vec::new(),
        })
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn used(&self) -> usize {
        self.ends.last().map_or(0, |&end| end as usize)
    }

    fn push(&mut self, claims: &[u8]) {
        let start = self.used();
        let end = start + claims.len();
        self.map[start..end].copy_from_slice(claims);
        self.ends
            .push(u32::try_from(end).expect("a block is under 4 GiB"));
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.map[start as usize..end as usize])
    }

    /// Moves the drafts from index `at` on into a new block.
    fn split_off(&mut self, at: usize) -> std::io::Result<Block> {
        let mut tail = Block::new((self.used() - self.ends[at - 1] as usize).max(1))?;
        for claims in self.iter().skip(at) {
            tail.push(claims);
        }
        self.ends.truncate(at);
        Ok(tail)
    }
}

impl Drafts {
    /// Adds the draft of `contract`'s token, issued by `issuer` at `now`.
    /// `scratch` is a buffer the caller keeps from one draft to the next.
    pub fn push(
        &mut self,
        contract: &Contract,
        issuer: &str,
        now: Timestamp,
        scratch: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        scratch.clear();
        write_claims(contract, issuer, now, scratch);
        self.push_claims(scratch)
    }

    /// Adds a draft already serialised.
    fn push_claims(&mut self, claims: &[u8]) -> std::io::Result<()> {
        let fits = self
            .blocks
            .last()
            .is_some_and(|b| b.map.len() - b.used() >= claims.len());
        if !fits {
            self.blocks.push(Block::new(BLOCK_BYTES.max(claims.len()))?);
        }
        let block = self.blocks.last_mut().expect("a block was just made");
        block.push(claims);
        self.len += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Splits the drafts, in order, into `n` runs of nearly equal length.
    fn into_runs(self, n: usize) -> std::io::Result<Vec<Drafts>> {
        let per_run = self.len.div_ceil(n.max(1)).max(1);
        let mut runs = Vec::with_capacity(n);
        let mut run = Drafts::default();
        let mut blocks = self.blocks.into_iter();
        let mut pending = None;
        while let Some(mut block) = pending.take().or_else(|| blocks.next()) {
            let room = per_run - run.len;
            if block.len() > room {
                pending = Some(block.split_off(room)?);
            }
            run.len += block.len();
            run.blocks.push(block);
            if run.len == per_run {
                runs.push(std::mem::take(&mut run));
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        Ok(runs)
    }
}

/// What the ledger records of a token, read back from its payload.
#[derive(Debug, Deserialize)]
pub struct Issued {
    pub jti: String,
    pub sub: String,
    pub aud: String,
    pub scope: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    #[serde(rename = "contract")]
    contract_claim: OwnedContractClaim,
    /// SHA-256 of the token's ASCII bytes, lowercase hex.
    #[serde(skip)]
    pub token_sha256: String,
}

#[derive(Debug, Deserialize)]
struct OwnedContractClaim {
    id: String,
    sha256: String,
}

impl Issued {
    /// Reads a token covenant has just signed. Fails only if the token is
    /// not one of covenant's: a compact JWS whose payload has every claim
    /// the ledger records.
    pub fn read(token: &str) -> Result<Issued, String> {
        let payload = token
            .split('.')
            .nth(1)
            .ok_or("the token is not a compact JWS")?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|e| format!("the token's payload is not base64url: {e}"))?;
        let mut issued: Issued = serde_json::from_slice(&json)
            .map_err(|e| format!("the token's payload lacks a recorded claim: {e}"))?;
        issued.token_sha256 = sha256_hex(token.as_bytes());
        Ok(issued)
    }

    /// The `contract.id` claim.
    pub fn contract_id(&self) -> &str {
        &self.contract_claim.id
    }

    /// The `contract.sha256` claim: the contract file's digest.
    pub fn contract_sha256(&self) -> &str {
        &self.contract_claim.sha256
    }
}

/// A freshly signed token and what the ledger records of it.
pub struct Minted {
    /// The compact JWS. A bearer secret: wiped from memory when dropped.
    pub token: Zeroizing<String>,
    pub issued: Issued,
}

/// A fresh `jti`: 128 random bits, base64url.
pub fn new_jti(rng: &SystemRandom) -> String {
    let mut bytes = [0u8; JTI_BYTES];
    rng.fill(&mut bytes)
        .expect("the system random generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

const JTI_BYTES: usize = 16;

/// Signs tokens with one key.
pub struct Minter<'a> {
    key: &'a SigningKey,
    /// The base64url header, the same for every token of this key.
    header: String,
}

/// Buffers one signing thread reuses from token to token.
#[derive(Default)]
struct Scratch {
    payload: Vec<u8>,
    input: String,
}

impl<'a> Minter<'a> {
    pub fn new(key: &'a SigningKey) -> Result<Minter<'a>, String> {
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
            header: URL_SAFE_NO_PAD.encode(json),
        })
    }

    fn sign_with(
        &self,
        claims: &[u8],
        jti: &str,
        scratch: &mut Scratch,
    ) -> Result<Zeroizing<String>, String> {
        payload_into(claims, jti, &mut scratch.payload);
        let input = &mut scratch.input;
        input.clear();
        input.push_str(&self.header);
        input.push('.');
        URL_SAFE_NO_PAD.encode_string(&scratch.payload, input);
        let signature = self
            .key
            .signer()
            .try_sign(input.as_bytes())
            .map_err(|e| format!("signing failed: {e}"))?;

        // The signing input is public; the whole token is a bearer secret.
        // It is sized exactly before it is assembled, so that no growing
        // leaves a copy of it in freed memory, and it holds no spare bytes
        // while a batch waits for the ledger.
        let signature_len = base64::encoded_len(signature.len(), false)
            .ok_or("the signature is too long to encode")?;
        let mut token = Zeroizing::new(String::with_capacity(input.len() + 1 + signature_len));
        token.push_str(input);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }
}

/// Signs the token for `contract` with `key` at time `now`, and reads back
/// what the ledger records of it.
pub fn mint(
    key: &SigningKey,
    issuer: &str,
    contract: &Contract,
    jti: &str,
    now: Timestamp,
) -> Result<Minted, String> {
    let mut claims = Vec::new();
    write_claims(contract, issuer, now, &mut claims);
    let token = Minter::new(key)?.sign_with(&claims, jti, &mut Scratch::default())?;
    let issued = Issued::read(&token)?;
    Ok(Minted { token, issued })
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

/// Signs one token per draft on `threads` threads. The tokens come back in
/// the order of `drafts`, whatever the number of threads. `progress` is
/// called from the signing threads with the number of tokens signed since
/// its last call.
pub fn mint_batch(
    minter: &Minter<'_>,
    drafts: Drafts,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Zeroizing<String>>, String> {
    let threads = threads.clamp(1, drafts.len().max(1));
    if threads == 1 {
        return mint_run(minter, drafts, progress);
    }
    // Contiguous runs, joined in order, keep the result deterministic.
    std::thread::scope(|scope| {
        let runs = drafts
            .into_runs(threads)
            .map_err(|e| format!("cannot share the batch between threads: {e}"))?;
        let handles: Vec<_> = runs
            .into_iter()
            .map(|run| scope.spawn(move || mint_run(minter, run, progress)))
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            let run = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            if all.is_empty() {
                all = run;
            } else {
                all.extend(run);
            }
        }
        Ok(all)
    })
}

/// Signs a run of drafts on the calling thread, freeing each block of
/// drafts once it is signed. The `jti`s are drawn from the system
/// generator a block of them at a time rather than one system call per
/// token.
fn mint_run(
    minter: &Minter<'_>,
    drafts: Drafts,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Zeroizing<String>>, String> {
    let rng = SystemRandom::new();
    let mut scratch = Scratch::default();
    let mut random = [0u8; JTI_BYTES * PROGRESS_STEP];
    let mut unused = 0;
    let mut since_progress = 0;
    let mut jti = String::with_capacity(base64::encoded_len(JTI_BYTES, false).unwrap_or(0));
    let mut tokens = Vec::with_capacity(drafts.len());
    for block in drafts.blocks {
        for claims in block.iter() {
            if unused == 0 {
                rng.fill(&mut random)
                    .map_err(|_| "the system random generator failed".to_string())?;
                unused = PROGRESS_STEP;
            }
            unused -= 1;
            jti.clear();
            URL_SAFE_NO_PAD.encode_string(&random[unused * JTI_BYTES..][..JTI_BYTES], &mut jti);
            tokens.push(minter.sign_with(claims, &jti, &mut scratch)?);
            since_progress += 1;
            if since_progress == PROGRESS_STEP {
                progress(since_progress);
                since_progress = 0;
            }
        }
    }
    if since_progress > 0 {
        progress(since_progress);
    }
    Ok(tokens)
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
    const ISSUER: &str = "https://issuer.example.com";

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

    /// The claims as one serde value, the way a caller of
    /// `jsonwebtoken::encode` would hand them over.
    #[derive(Serialize)]
    struct WithJti<'a> {
        jti: &'a str,
        #[serde(flatten)]
        claims: Claims<'a>,
    }

    #[test]
    fn a_token_is_byte_for_byte_what_jsonwebtoken_encode_makes() {
        // Ed25519 signatures are deterministic, so the two can be compared.
        crate::provider::install();
        let key = signing_key(Algorithm::EdDSA);
        let acme = contract("ACME-2026-001");
        let ours = mint(&key, ISSUER, &acme, "jti-1", now()).unwrap();

        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(key.jwk().kid.clone());
        let claims = WithJti {
            jti: "jti-1",
            claims: Claims {
                iss: ISSUER,
                sub: &acme.partner,
                aud: &acme.audience,
                iat: now().as_second(),
                nbf: acme.nbf.as_second(),
                exp: acme.exp.as_second(),
                scope: acme.scopes.join(" "),
                contract: ContractClaim {
                    id: &acme.id,
                    sha256: &acme.sha256,
                },
                extra: &acme.claims,
            },
        };
        let theirs = jsonwebtoken::encode(&header, &claims, key.encoding_key()).unwrap();
        assert_eq!(ours.token.as_str(), theirs);
        assert_eq!(ours.issued.token_sha256, sha256_hex(theirs.as_bytes()));
    }

    #[test]
    fn what_is_read_back_is_what_the_contract_said() {
        let key = signing_key(Algorithm::ES256);
        let acme = contract("ACME-2026-001");
        let minted = mint(&key, ISSUER, &acme, "jti-1", now()).unwrap();
        let issued = &minted.issued;
        assert_eq!(issued.jti, "jti-1");
        assert_eq!(issued.sub, acme.partner);
        assert_eq!(issued.aud, acme.audience);
        assert_eq!(issued.scope, acme.scopes.join(" "));
        assert_eq!(issued.iat, now().as_second());
        assert_eq!(issued.nbf, acme.nbf.as_second());
        assert_eq!(issued.exp, acme.exp.as_second());
        assert_eq!(issued.contract_id(), "ACME-2026-001");
        assert_eq!(issued.contract_sha256(), acme.sha256);
        // The token's exact allocation: a batch holds nothing but tokens.
        assert_eq!(minted.token.capacity(), minted.token.len());
    }

    #[test]
    fn a_payload_without_a_recorded_claim_is_not_read_as_issued() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"jti":"x","sub":"s"}"#);
        let error = Issued::read(&format!("e30.{payload}.c2ln")).unwrap_err();
        assert!(error.contains("lacks a recorded claim"), "{error}");
        assert!(Issued::read("no dots").is_err());
    }

    #[test]
    fn a_batch_on_two_threads_keeps_the_contracts_order_and_every_token_verifies() {
        let key = signing_key(Algorithm::ES256);
        let minter = Minter::new(&key).unwrap();
        let count = PARALLEL_MIN * 2 + PROGRESS_STEP / 2 + 3;
        let mut drafts = Drafts::default();
        for i in 0..count {
            let contract = contract(&format!("C-{i:03}"));
            drafts
                .push(&contract, ISSUER, now(), &mut Vec::new())
                .unwrap();
        }
        let signed = std::sync::atomic::AtomicUsize::new(0);
        let tokens = mint_batch(&minter, drafts, 2, &|n| {
            signed.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();

        assert_eq!(signed.into_inner(), count);
        assert_eq!(tokens.len(), count);
        let acme = contract("C-000");
        let expect = crate::verify::Expectations {
            audiences: Some(vec![acme.audience.clone()]),
            issuer: Some(ISSUER.into()),
            leeway_seconds: 0,
            now: acme.nbf,
        };
        let mut jtis = std::collections::HashSet::new();
        for (i, token) in tokens.iter().enumerate() {
            let verified =
                crate::verify::verify(token, std::slice::from_ref(key.jwk()), &expect).unwrap();
            assert_eq!(verified.claims["contract"]["id"], format!("C-{i:03}"));
            let jti = verified.claims["jti"].as_str().unwrap().to_string();
            assert_eq!(jti.len(), 22);
            assert!(jtis.insert(jti.clone()), "jti {jti} repeats");
        }
    }

    #[test]
    fn drafts_split_into_even_runs_in_order_across_blocks() {
        // Drafts of 100 KB: two to a block, so that runs split blocks.
        let drafts_of = |n: usize| {
            let mut drafts = Drafts::default();
            for i in 0..n {
                let padding = "x".repeat(100_000);
                let claims = format!(r#"{{"n":{i},"p":"{padding}"}}"#);
                drafts.push_claims(claims.as_bytes()).unwrap();
            }
            drafts
        };
        let numbers = |drafts: &Drafts| -> Vec<u64> {
            let blocks = drafts.blocks.iter();
            let mut numbers = Vec::new();
            for claims in blocks.flat_map(|b| b.iter()) {
                let value: Value = serde_json::from_slice(claims).unwrap();
                numbers.push(value["n"].as_u64().unwrap());
            }
            numbers
        };
        let drafts = drafts_of(7);
        assert_eq!(drafts.blocks.len(), 4);
        let runs = drafts.into_runs(3).unwrap();
        let sizes: Vec<usize> = runs.iter().map(Drafts::len).collect();
        assert_eq!(sizes, [3, 3, 1]);
        let joined: Vec<u64> = runs.iter().flat_map(numbers).collect();
        assert_eq!(joined, (0..7).collect::<Vec<u64>>());
        for run in &runs {
            assert_eq!(numbers(run).len(), run.len());
        }

        let runs = drafts_of(2).into_runs(2).unwrap();
        assert_eq!(runs.iter().map(Drafts::len).collect::<Vec<_>>(), [1, 1]);
        assert_eq!(drafts_of(1).into_runs(4).unwrap().len(), 1);
    }

    #[test]
    fn small_batches_stay_on_one_thread() {
        assert_eq!(batch_threads(PARALLEL_MIN - 1), 1);
        assert!(batch_threads(PARALLEL_MIN) >= 1);
    }
}
