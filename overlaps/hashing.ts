import { createHmac, hash } from 'node:crypto';
import { CosellError } from '../lib/errors.js';

/**
 * Keyed hashing of match keys: HMAC-SHA256 with the partnership's secret, so nobody without the key can
 * test guesses ("is acme.com on their list?") against the hashes, and the same domain hashes
 * differently in every partnership. The per-partnership key is itself derived from the secret and the
 * partnership id, so even a secret reused by mistake for two partners yields unrelated hashes.
 *
 * The HMAC is computed with Node's one-shot `crypto.hash` over precomputed ipad/opad blocks (the
 * RFC 2104 construction, checked against createHmac in the tests): ~15% faster than createHmac per
 * key, which matters at millions of keys. Output: the first 16 bytes (128 bits) in base64url — short
 * Map keys, and collisions stay negligible (~n²/2^129).
 */
export type KeyHasher = (key: string) => string;

const BLOCK = 64;
const HASH_BYTES = 16;
const MIN_SECRET_LENGTH = 16;

export function derivePartnershipKey(secret: string, partnershipId: string): Buffer {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new CosellError('COSELL_CONFIG_INVALID', `the overlap secret for partnership "${partnershipId}" is shorter than ${MIN_SECRET_LENGTH} characters`, {
      hint: 'generate one with `openssl rand -base64 32` and reference it as env:NAME or file:PATH',
    });
  }
  return createHmac('sha256', secret).update(`cosell-overlap-v1\0${partnershipId}`).digest();
}

export function createKeyHasher(secret: string, partnershipId: string): KeyHasher {
  return hmacHasher(derivePartnershipKey(secret, partnershipId));
}

/** HMAC-SHA256(key, message) truncated to 128 bits, base64url. `key` is at most one block (32 bytes here). */
export function hmacHasher(key: Buffer): KeyHasher {
  if (key.length > BLOCK) throw new Error('hmacHasher: key longer than one block');
  const inner = Buffer.alloc(BLOCK + 1024);
  const outer = Buffer.alloc(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (key[i] ?? 0) ^ 0x36;
    outer[i] = (key[i] ?? 0) ^ 0x5c;
  }
  return (message: string) => {
    const len = Buffer.byteLength(message);
    const buf = len <= 1024 ? inner : Buffer.concat([inner.subarray(0, BLOCK), Buffer.alloc(len)]);
    buf.write(message, BLOCK, 'utf8');
    const innerDigest = hash('sha256', buf.subarray(0, BLOCK + len), 'buffer');
    innerDigest.copy(outer, BLOCK);
    return hash('sha256', outer, 'buffer').toString('base64url', 0, HASH_BYTES);
  };
}

/** The same shape without a key — only for the benchmark's baseline and tests; never used to share. */
export const plainHasher: KeyHasher = (key) => key;
