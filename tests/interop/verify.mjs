// Verifies a covenant token with node's jose, as a partner's gateway would:
// only the JWKS, the expected issuer and the expected audience.
//
// usage: node verify.mjs JWKS_FILE TOKEN_FILE ISSUER AUDIENCE
//
// Prints the verified claims as JSON and exits 0, or prints jose's reason
// and exits 1.
import { readFileSync } from "node:fs";
import { createLocalJWKSet, jwtVerify } from "jose";

const [jwksPath, tokenPath, issuer, audience] = process.argv.slice(2);
const jwks = JSON.parse(readFileSync(jwksPath, "utf8"));
const token = readFileSync(tokenPath, "utf8").trim();

try {
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer,
    audience,
    algorithms: jwks.keys.map((k) => k.alg),
    requiredClaims: ["exp", "nbf", "iat"],
  });
  console.log(JSON.stringify(payload));
} catch (e) {
  console.error(`jose rejected the token: ${e.code}: ${e.message}`);
  process.exit(1);
}
