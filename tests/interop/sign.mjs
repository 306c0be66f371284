// Signs tokens with node's jose and a private key that covenant generated:
// one well-formed token and one for each mistake or attack that
// `covenant verify` must refuse. See sign.py, which does the same with
// the Python libraries.
//
// usage: node sign.mjs KEY_DER ALG KID PUBLIC_PEM CLAIMS_FILE
//
// Prints a JSON object mapping each case to its compact token.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { generateKeyPair, SignJWT, UnsecuredJWT } from "jose";

const [derPath, alg, kid, pemPath, claimsPath] = process.argv.slice(2);
const key = createPrivateKey({ key: readFileSync(derPath), format: "der", type: "pkcs8" });
const publicPem = readFileSync(pemPath);
const claims = JSON.parse(readFileSync(claimsPath, "utf8"));

// For each algorithm, one that the key's JWK does not name; see sign.py.
const otherAlg = { ES256: "ES384", ES384: "ES256", EdDSA: "ES256", RS256: "PS256", PS256: "RS256" };
const crit = { crit: ["urn:example:covenant"], "urn:example:covenant": true };

const sign = (claims, key, alg, header = {}, options = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: "JWT", ...header })
    .sign(key, options);

const other = otherAlg[alg];
const otherKey = other.startsWith("ES") ? (await generateKeyPair(other)).privateKey : key;

const tokens = {
  good: await sign(claims, key, alg),
  wrong_kid: await sign(claims, key, alg, { kid: `not-${kid}` }),
  other_alg: await sign(claims, otherKey, other),
  // jose takes any bytes as an HMAC secret, the public key's PEM included.
  hs256_public_key: await sign(claims, publicPem, "HS256"),
  // jose's unsecured JWTs carry exactly {"alg":"none"}, with no kid.
  none: new UnsecuredJWT(claims).encode(),
  expired: await sign({ ...claims, exp: claims.nbf + 1 }, key, alg),
  // jose signs a crit header only for extensions the caller declares.
  crit: await sign(claims, key, alg, crit, { crit: { "urn:example:covenant": true } }),
};
console.log(JSON.stringify(tokens));
