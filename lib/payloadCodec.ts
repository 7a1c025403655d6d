import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DataConverter, type Payload, type PayloadCodec, METADATA_ENCODING_KEY } from '@temporalio/common';
import proto from '@temporalio/proto'; // CommonJS: no named ESM exports under plain node
import { CosellError } from './errors.js';

/**
 * Encryption of everything cosell puts in Temporal history (workflow inputs/results, activity
 * arguments, failure messages and stack traces): customer names and CRM error texts carry business
 * data. AES-256-GCM per payload; the whole original payload (metadata + data) is sealed, so nothing
 * about it shows except the key id. Codecs run outside the workflow sandbox: the bundle is unchanged.
 */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const Proto = proto.temporal.api.common.v1.Payload;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** The first key encrypts; every key decrypts (rotation: put the new key first, keep the old ones). */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  constructor(private readonly keys: PayloadKey[]) {
    if (keys.length === 0) throw new Error('AesGcmPayloadCodec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0];
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      // The key id is authenticated too: a payload relabelled with another id does not decrypt.
      cipher.setAAD(Buffer.from(id));
      const sealed = Buffer.concat([cipher.update(Proto.encode(p).finish()), cipher.final()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(id) },
        data: Buffer.concat([iv, sealed, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (Buffer.from(p.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCRYPTED_ENCODING) return p; // written before encryption was on
      const id = Buffer.from(p.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.byId.get(id);
      if (!key) throw new CosellError('COSELL_PAYLOAD_KEY', `a payload in Temporal history is encrypted with key id "${id}", which is not configured`, { hint: 'add that key (id:base64key) to COSELL_PAYLOAD_KEYS or COSELL_PAYLOAD_KEY_FILE after the current one' });
      const data = Buffer.from(p.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new CosellError('COSELL_PAYLOAD_DECRYPT', 'an encrypted payload is too short to be genuine');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch (e) {
        throw new CosellError('COSELL_PAYLOAD_DECRYPT', `an encrypted payload (key id "${id}") failed authentication: it was altered or sealed with a different key under that id`, { cause: e });
      }
      return Proto.decode(plain);
    });
  }
}

/**
 * Keys from the environment: COSELL_PAYLOAD_KEYS (`id:base64key` entries, comma/whitespace separated),
 * else COSELL_PAYLOAD_KEY_FILE (the same entries, one a line, or one bare base64 key), else
 * COSELL_PAYLOAD_KEY (one bare base64 key, id `default`). None set: undefined (no encryption).
 */
export function payloadKeysFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadKey[] | undefined {
  if (env.COSELL_PAYLOAD_KEYS?.trim()) return parseKeys(env.COSELL_PAYLOAD_KEYS, 'COSELL_PAYLOAD_KEYS');
  if (env.COSELL_PAYLOAD_KEY_FILE?.trim()) {
    const file = env.COSELL_PAYLOAD_KEY_FILE.trim();
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new CosellError('COSELL_PAYLOAD_KEY', `COSELL_PAYLOAD_KEY_FILE=${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { hint: 'point COSELL_PAYLOAD_KEY_FILE at a readable file holding one base64 32-byte key, or id:base64key lines (first one encrypts); generate a key with `openssl rand -base64 32`', cause: e });
    }
    return parseKeys(text, `COSELL_PAYLOAD_KEY_FILE (${file})`);
  }
  if (env.COSELL_PAYLOAD_KEY?.trim()) return [{ id: 'default', key: decodeKey(env.COSELL_PAYLOAD_KEY.trim(), 'COSELL_PAYLOAD_KEY') }];
  return undefined;
}

function parseKeys(text: string, where: string): PayloadKey[] {
  const entries = text.split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) throw new CosellError('COSELL_PAYLOAD_KEY', `${where} holds no key`, { hint: HOW_TO_FIX });
  if (entries.length === 1 && !entries[0].includes(':')) return [{ id: 'default', key: decodeKey(entries[0], where) }];
  const keys = entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon);
    if (colon <= 0 || !/^[A-Za-z0-9._-]+$/.test(id)) throw new CosellError('COSELL_PAYLOAD_KEY', `${where}: entry ${i + 1} is not id:base64key (ids are letters, digits, . _ -)`, { hint: HOW_TO_FIX });
    return { id, key: decodeKey(entry.slice(colon + 1), `${where} entry ${i + 1} (id "${id}")`) };
  });
  const dup = keys.find((k, i) => keys.findIndex((o) => o.id === k.id) !== i);
  if (dup) throw new CosellError('COSELL_PAYLOAD_KEY', `${where}: key id "${dup.id}" appears twice`, { hint: 'give every key in COSELL_PAYLOAD_KEYS / COSELL_PAYLOAD_KEY_FILE its own id: history records which id sealed each payload' });
  return keys;
}

const HOW_TO_FIX = 'set COSELL_PAYLOAD_KEY to a base64 32-byte key (`openssl rand -base64 32`), or COSELL_PAYLOAD_KEYS / COSELL_PAYLOAD_KEY_FILE to id:base64key entries, the encrypting key first';

function decodeKey(b64: string, where: string): Buffer {
  // Buffer.from(..., 'base64') silently skips junk: check the text really is base64 first.
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : undefined;
  if (!key || key.length !== 32) throw new CosellError('COSELL_PAYLOAD_KEY', `${where} is not a base64 32-byte AES-256 key${key ? ` (it decodes to ${key.length} bytes)` : ' (not base64)'}`, { hint: HOW_TO_FIX });
  return key;
}

/** Plain CommonJS so the SDK can `require` it (it loads failure converters by path). */
export const ENCODED_FAILURE_CONVERTER_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'encodedFailureConverter.cjs');

/**
 * The data converter options for the worker and every client, or undefined when no key is configured:
 * then nothing changes. The failure converter (loaded by path, as the SDK requires) sets
 * `encodeCommonAttributes`, moving failure messages and stack traces into a payload the codec encrypts.
 */
export function payloadDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const keys = payloadKeysFromEnv(env);
  if (!keys) return undefined;
  return { payloadCodecs: [new AesGcmPayloadCodec(keys)], failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH };
}
