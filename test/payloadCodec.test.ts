import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Payload } from '@temporalio/common';
import { isCosellError } from '../lib/errors.js';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, payloadDataConverter, payloadKeysFromEnv, type PayloadKey } from '../lib/payloadCodec.js';
import { tempDir } from './helpers/tmp.js';

const key = (id: string): PayloadKey => ({ id, key: randomBytes(32) });
const entry = (k: PayloadKey) => `${k.id}:${k.key.toString('base64')}`;
const arbPayload: fc.Arbitrary<Payload> = fc.record({
  metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)), { maxKeys: 3 }),
  data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
});
const same = (a: Payload, b: Payload) => {
  expect(Buffer.from(b.data ?? [])).toEqual(Buffer.from(a.data ?? []));
  expect(Object.keys(b.metadata ?? {}).sort()).toEqual(Object.keys(a.metadata ?? {}).sort());
  for (const k of Object.keys(a.metadata ?? {})) expect(Buffer.from(b.metadata![k])).toEqual(Buffer.from(a.metadata![k]));
};

describe('AesGcmPayloadCodec', () => {
  it('round-trips any payloads, also after rotation (old key listed after the new one)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbPayload, { maxLength: 5 }), fc.integer({ min: 1, max: 3 }), async (payloads, n) => {
        const keys = Array.from({ length: n }, (_, i) => key(`k${i}`));
        const sealed = await new AesGcmPayloadCodec(keys).encode(payloads);
        for (const s of sealed) {
          expect(Buffer.from(s.metadata!.encoding).toString()).toBe(ENCRYPTED_ENCODING);
          expect(Buffer.from(s.metadata![KEY_ID_METADATA]).toString()).toBe('k0');
          expect(Object.keys(s.metadata!).sort()).toEqual(['encoding', KEY_ID_METADATA].sort()); // original metadata is sealed, not shown
        }
        const rotated = new AesGcmPayloadCodec([key('next'), ...keys]);
        const opened = await rotated.decode(sealed);
        expect(opened).toHaveLength(payloads.length);
        payloads.forEach((p, i) => same(p, opened[i]));
      }),
      { numRuns: 150 },
    );
  });

  it('rejects any single flipped bit of the ciphertext, and a relabelled key id', async () => {
    const a = key('a');
    const b = { id: 'b', key: a.key };
    const codec = new AesGcmPayloadCodec([a, b]);
    await fc.assert(
      fc.asyncProperty(arbPayload, fc.nat(), fc.integer({ min: 0, max: 7 }), async (p, at, bit) => {
        const [sealed] = await codec.encode([p]);
        const data = Buffer.from(sealed.data!);
        data[at % data.length] ^= 1 << bit;
        const err = await codec.decode([{ ...sealed, data }]).catch((e) => e);
        expect(isCosellError(err, 'COSELL_PAYLOAD_DECRYPT')).toBe(true);
        // Same key bytes under another id: the id is authenticated, so this fails too.
        const relabelled = { ...sealed, metadata: { ...sealed.metadata, [KEY_ID_METADATA]: Buffer.from('b') } };
        expect(isCosellError(await codec.decode([relabelled]).catch((e) => e), 'COSELL_PAYLOAD_DECRYPT')).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('names the missing key id when history was sealed with a key no longer configured', async () => {
    const [sealed] = await new AesGcmPayloadCodec([key('gone')]).encode([{ metadata: {}, data: Buffer.from('x') }]);
    const err = await new AesGcmPayloadCodec([key('now')]).decode([sealed]).catch((e) => e);
    expect(isCosellError(err, 'COSELL_PAYLOAD_KEY')).toBe(true);
    expect(err.message).toContain('"gone"');
  });

  it('passes through payloads written before encryption was switched on', async () => {
    const plain = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') };
    const [out] = await new AesGcmPayloadCodec([key('a')]).decode([plain]);
    same(plain, out);
  });
});

describe('payload keys from the environment', () => {
  const good = key('cur');
  const old = key('old');
  const dir = tempDir('cosell-keys-');
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text, { mode: 0o600 });
    return f;
  };

  it('no key configured: no data converter, behaviour unchanged', () => {
    expect(payloadDataConverter({})).toBeUndefined();
  });

  it('reads COSELL_PAYLOAD_KEY, COSELL_PAYLOAD_KEYS and COSELL_PAYLOAD_KEY_FILE; the first entry encrypts', () => {
    expect(payloadKeysFromEnv({ COSELL_PAYLOAD_KEY: good.key.toString('base64') })).toEqual([{ id: 'default', key: good.key }]);
    expect(payloadKeysFromEnv({ COSELL_PAYLOAD_KEYS: `${entry(good)},${entry(old)}` })).toEqual([good, old]);
    expect(payloadKeysFromEnv({ COSELL_PAYLOAD_KEY_FILE: file('keys', `${entry(good)}\n${entry(old)}\n`) })).toEqual([good, old]);
    expect(payloadKeysFromEnv({ COSELL_PAYLOAD_KEY_FILE: file('bare', `${good.key.toString('base64')}\n`) })).toEqual([{ id: 'default', key: good.key }]);
    const dc = payloadDataConverter({ COSELL_PAYLOAD_KEYS: entry(good) });
    expect(dc?.payloadCodecs).toHaveLength(1);
    expect(dc?.failureConverterPath).toMatch(/encodedFailureConverter\.cjs$/);
  });

  it.each([
    ['bad base64', { COSELL_PAYLOAD_KEY: 'not*base64!' }, /COSELL_PAYLOAD_KEY is not a base64 32-byte AES-256 key \(not base64\)/],
    ['short key', { COSELL_PAYLOAD_KEY: randomBytes(16).toString('base64') }, /decodes to 16 bytes/],
    ['entry without id', { COSELL_PAYLOAD_KEYS: `${entry(good)},${old.key.toString('base64')}` }, /COSELL_PAYLOAD_KEYS: entry 2 is not id:base64key/],
    ['duplicate id', { COSELL_PAYLOAD_KEYS: `${entry(good)},${entry({ id: 'cur', key: old.key })}` }, /key id "cur" appears twice/],
    ['missing file', { COSELL_PAYLOAD_KEY_FILE: path.join(dir, 'nope') }, /COSELL_PAYLOAD_KEY_FILE=.*nope cannot be read \(ENOENT\)/],
    ['empty file', { COSELL_PAYLOAD_KEY_FILE: path.join(dir, 'empty') }, /holds no key/],
    ['malformed file', { COSELL_PAYLOAD_KEY_FILE: path.join(dir, 'bad') }, /COSELL_PAYLOAD_KEY_FILE \(.*bad\) entry 1 \(id "cur"\) is not a base64 32-byte/],
  ])('%s → COSELL_PAYLOAD_KEY naming the variable, with a fix', (_name, env, message) => {
    file('empty', '\n');
    file('bad', 'cur:abc\n');
    let err: unknown;
    try {
      payloadKeysFromEnv(env);
    } catch (e) {
      err = e;
    }
    expect(isCosellError(err, 'COSELL_PAYLOAD_KEY')).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect((err as { hint?: string }).hint).toMatch(/COSELL_PAYLOAD_KEY/);
  });
});
