// Verify a signet compact JWS with the npm `jose` library (an independent JOSE
// implementation), given the raw Ed25519 public key as base64url.
// Usage: node verify.mjs <jws> <public-key-b64url>
// Prints the verified protected header and payload as JSON; exits 1 if verification fails.
import { compactVerify, importJWK } from 'jose';

const [jws, x] = process.argv.slice(2);
try {
  const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x }, 'Ed25519');
  const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: ['Ed25519'] });
  process.stdout.write(JSON.stringify({ header: protectedHeader, payload: new TextDecoder().decode(payload) }) + '\n');
} catch (e) {
  process.stderr.write(`jose rejected the jws: ${e.code ?? ''} ${e.message}\n`);
  process.exit(1);
}
