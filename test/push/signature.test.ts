import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSignedUri, MAX_SIGNATURE_AGE_MS, signV3, verifyV3 } from '../../push/hubspot/signature.js';

// HubSpot's own implementation (@hubspot/api-client's Signature utility): the reference we check against.
const require = createRequire(import.meta.url);
const { Signature } = require('@hubspot/api-client') as { Signature: { getSignature(method: string, version: string, o: Record<string, unknown>): string } };
const hubspot = (o: { clientSecret: string; method: string; uri: string; body: string; timestamp: string }) =>
  Signature.getSignature(o.method, 'v3', { clientSecret: o.clientSecret, url: o.uri, requestBody: o.body, timestamp: o.timestamp });

// The inputs of the signature examples on HubSpot's "Validating requests" page (secret, URL, body).
const EXAMPLE = {
  clientSecret: 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy',
  method: 'POST',
  uri: 'https://www.example.com/webhook_uri',
  body: '{"example_field":"example_value"}',
  timestamp: '1564113600000',
};

describe('HubSpot v3 webhook signatures', () => {
  it("matches HubSpot's client on the docs' example inputs, and a fixed vector", () => {
    expect(signV3(EXAMPLE)).toBe(hubspot(EXAMPLE));
    // Frozen, computed independently with openssl: printf '%s' 'POSThttps://www.example.com/webhook_uri{"example_field":"example_value"}1564113600000' | openssl dgst -sha256 -hmac 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy' -binary | base64
    expect(signV3(EXAMPLE)).toBe('eT0ip2TKVpsIi1vb5C2Uu42eNdHL+oTE3NRZOF67O2U=');
    expect(verifyV3({ ...EXAMPLE, signature: signV3(EXAMPLE), now: Number(EXAMPLE.timestamp) + 1000 })).toEqual({ ok: true });
  });

  it("agrees with HubSpot's client on any secret, method, URL, body and timestamp (no encoded characters)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.constantFrom('POST', 'GET', 'PUT'),
        fc.webUrl({ withQueryParameters: true }).filter((u) => !/%/.test(u)),
        fc.string({ unit: 'grapheme' }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        (clientSecret, method, uri, body, ts) => {
          const o = { clientSecret, method, uri, body, timestamp: String(ts) };
          expect(signV3(o)).toBe(hubspot(o));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses any change to the method, URL, body, timestamp or secret (constant-time compare)', () => {
    const now = Number(EXAMPLE.timestamp);
    const signature = signV3(EXAMPLE);
    const tamper = [
      { method: 'PUT' },
      { uri: 'https://www.example.com/webhook_uri2' },
      { body: '{"example_field":"example_valuf"}' },
      { body: `${EXAMPLE.body} ` },
      { timestamp: String(now + 1) },
      { clientSecret: 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyz' },
    ];
    for (const t of tamper) expect(verifyV3({ ...EXAMPLE, ...t, signature, now })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyV3({ ...EXAMPLE, signature: signature.slice(0, -2), now })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyV3({ ...EXAMPLE, signature: '', now })).toEqual({ ok: false, reason: 'missing-signature' });
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), (forged) => {
        fc.pre(forged !== signature);
        expect(verifyV3({ ...EXAMPLE, signature: forged, now }).ok).toBe(false);
      }),
    );
  });

  it('refuses timestamps older than 5 minutes (and as far in the future), missing or malformed ones', () => {
    const ts = Number(EXAMPLE.timestamp);
    const signature = signV3(EXAMPLE);
    expect(verifyV3({ ...EXAMPLE, signature, now: ts + MAX_SIGNATURE_AGE_MS }).ok).toBe(true);
    expect(verifyV3({ ...EXAMPLE, signature, now: ts + MAX_SIGNATURE_AGE_MS + 1 })).toEqual({ ok: false, reason: 'expired' });
    expect(verifyV3({ ...EXAMPLE, signature, now: ts - MAX_SIGNATURE_AGE_MS - 1 })).toEqual({ ok: false, reason: 'from-the-future' });
    expect(verifyV3({ ...EXAMPLE, timestamp: undefined, signature, now: ts })).toEqual({ ok: false, reason: 'missing-timestamp' });
    expect(verifyV3({ ...EXAMPLE, timestamp: '2019-07-26T04:00:00Z', signature, now: ts })).toEqual({ ok: false, reason: 'bad-timestamp' });
  });

  it("decodes exactly the URL-encoded characters HubSpot's docs list before signing", () => {
    expect(decodeSignedUri('https://h.example/a%3Ab%2Fc%3Fd%40e%21f%24g%27h%28i%29j%2Ak%2Cl%3Bm')).toBe("https://h.example/a:b/c?d@e!f$g'h(i)j*k,l;m");
    expect(decodeSignedUri('https://h.example/x%3a%20y%2B')).toBe('https://h.example/x:%20y%2B'); // lower case too; %20 and %2B stay
    const signed = signV3({ ...EXAMPLE, uri: 'https://www.example.com/webhook_uri?org=acme:1' });
    expect(verifyV3({ ...EXAMPLE, uri: 'https://www.example.com/webhook_uri?org=acme%3A1', signature: signed, now: Number(EXAMPLE.timestamp) })).toEqual({ ok: true });
  });
});
