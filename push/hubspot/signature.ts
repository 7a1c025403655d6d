import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HubSpot's v3 request signature (developers.hubspot.com, "Validating requests"):
 *   X-HubSpot-Signature-v3 = base64(HMAC-SHA256(clientSecret, method + uri + body + timestamp))
 * where `uri` is the full URL HubSpot called (scheme, host, path, query) with the URL-encoded
 * characters of the table below decoded, `body` is the raw request body (UTF-8) and `timestamp` is
 * the X-HubSpot-Request-Timestamp header (ms since the epoch) — a request older than 5 minutes is
 * refused, so a captured request cannot be replayed later.
 */
export const MAX_SIGNATURE_AGE_MS = 5 * 60_000;

const DECODE: Record<string, string> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$', '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};

/** Decode exactly the characters HubSpot's docs list (case-insensitively); everything else stays as sent. */
export function decodeSignedUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODE[m.toUpperCase()] ?? m);
}

export interface SignatureInput {
  clientSecret: string;
  method: string;
  uri: string;
  body: string;
  timestamp: string;
}

export function signV3(i: SignatureInput): string {
  return createHmac('sha256', i.clientSecret).update(`${i.method.toUpperCase()}${decodeSignedUri(i.uri)}${i.body}${i.timestamp}`, 'utf8').digest('base64');
}

export type Verdict = { ok: true } | { ok: false; reason: 'missing-signature' | 'missing-timestamp' | 'bad-timestamp' | 'expired' | 'from-the-future' | 'bad-signature' };

/**
 * Check a request's v3 signature and its age. The comparison takes the same time wherever the
 * signatures differ (timingSafeEqual), so an attacker cannot find a valid signature byte by byte.
 */
export function verifyV3(
  i: Omit<SignatureInput, 'timestamp'> & { timestamp: string | undefined; signature: string | undefined; now?: number; maxAgeMs?: number },
): Verdict {
  if (!i.signature) return { ok: false, reason: 'missing-signature' };
  if (!i.timestamp) return { ok: false, reason: 'missing-timestamp' };
  if (!/^\d{1,16}$/.test(i.timestamp)) return { ok: false, reason: 'bad-timestamp' };
  const age = (i.now ?? Date.now()) - Number(i.timestamp);
  const maxAge = i.maxAgeMs ?? MAX_SIGNATURE_AGE_MS;
  if (age > maxAge) return { ok: false, reason: 'expired' };
  // A timestamp far ahead of our clock would make the request replayable for that much longer.
  if (-age > maxAge) return { ok: false, reason: 'from-the-future' };
  const expected = Buffer.from(signV3({ ...i, timestamp: i.timestamp }), 'utf8');
  const given = Buffer.from(i.signature, 'utf8');
  const same = given.length === expected.length ? timingSafeEqual(given, expected) : timingSafeEqual(expected, expected) && false;
  return same ? { ok: true } : { ok: false, reason: 'bad-signature' };
}
