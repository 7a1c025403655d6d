import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { AceError } from './errors.js';

/**
 * SigV4 verification the way AWS does it: parse the Authorization header, look up the access key,
 * recompute the signature over the same canonical request with the same library the SDK signs with
 * (@smithy/signature-v4) and compare in constant time. The request date must be within 15 minutes of
 * the server's (real) time, the scope must name this region and the `partnercentral-selling` service.
 */
export const SIGNING_SERVICE = 'partnercentral-selling';
export const MAX_SKEW_MS = 15 * 60_000;

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Data): Buffer => (typeof d === 'string' ? Buffer.from(d, 'utf8') : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d));

/** The Checksum constructor SignatureV4 wants (SHA-256, or HMAC-SHA256 with a secret), on node:crypto. */
class NodeSha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: Data) {
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret !== undefined ? createHmac('sha256', bytes(this.secret)) : createHash('sha256');
  }
  update(data: Data): void {
    this.h.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {
    this.h = this.fresh();
  }
}

export interface SignedRequest {
  method: string;
  host: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const AUTH_RE = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Number.NaN;
}

const headerValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(',') : v);

/** Throws the AceError AWS would answer with; returns the access key id when the signature holds. */
export async function verifySigV4(req: SignedRequest, secrets: ReadonlyMap<string, string>, region: string, now = Date.now()): Promise<string> {
  const auth = headerValue(req.headers.authorization);
  if (!auth) throw new AceError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTH_RE.exec(auth);
  if (!m) throw new AceError('InvalidSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature in the AWS4-HMAC-SHA256 format.');
  const [, accessKeyId, scopeDate, scopeRegion, scopeService, signedHeaderList, signature] = m as unknown as string[];
  const secret = secrets.get(accessKeyId!);
  if (secret === undefined) throw new AceError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const amzDate = headerValue(req.headers['x-amz-date']) ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt)) throw new AceError('InvalidSignatureException', 'X-Amz-Date is missing or not in the form yyyyMMddTHHmmssZ.');
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) throw new AceError('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier or later than 15 minutes from the server's time.`);
  if (scopeDate !== amzDate.slice(0, 8)) throw new AceError('InvalidSignatureException', `Credential should be scoped to a valid date, not ${scopeDate}.`);
  if (scopeRegion !== region) throw new AceError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  if (scopeService !== SIGNING_SERVICE) throw new AceError('InvalidSignatureException', `Credential should be scoped to correct service: '${SIGNING_SERVICE}'.`);

  const names = signedHeaderList!.split(';');
  if (!names.includes('host')) throw new AceError('InvalidSignatureException', "'Host' must be a signed header.");
  const headers: Record<string, string> = {};
  for (const name of names) {
    const v = name === 'host' ? req.host : headerValue(req.headers[name]);
    if (v === undefined) throw new AceError('InvalidSignatureException', `The request signature names header ${name}, which the request does not carry.`);
    headers[name] = v;
  }
  // The signer trusts a declared payload hash; AWS checks it against the body, and so do we.
  const declared = headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== 'UNSIGNED-PAYLOAD' && declared !== createHash('sha256').update(req.body).digest('hex')) {
    throw new AceError('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const [pathname, query = ''] = req.path.split('?', 2) as [string, string?];
  const signer = new SignatureV4({ credentials: { accessKeyId: accessKeyId!, secretAccessKey: secret }, region, service: SIGNING_SERVICE, sha256: NodeSha256 });
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: req.host.split(':')[0]!,
      path: pathname,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers,
      body: req.body,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(names) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  const ok = expected.length === signature!.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature!));
  if (!ok) throw new AceError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  return accessKeyId!;
}
