import { generate } from 'selfsigned';

/**
 * The Pub/Sub API speaks gRPC over TLS only. The sandbox makes its own certificate authority and a
 * server certificate it signs, for localhost / 127.0.0.1 (EC P-256: fast to generate). One pair per
 * process: tests start many sandboxes, and a CA is only as secret as the sandbox it serves.
 */
export interface SandboxTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

let cached: Promise<SandboxTls> | undefined;

export function sandboxTls(): Promise<SandboxTls> {
  cached ??= make().catch((e) => {
    cached = undefined;
    throw e;
  });
  return cached;
}

async function make(): Promise<SandboxTls> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 365 * 86_400_000);
  const ca = await generate([{ name: 'commonName', value: 'cosell sandbox CA' }, { name: 'organizationName', value: 'cosell sandbox' }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate, notAfterDate,
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate, notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { caPem: ca.cert, certPem: server.cert, keyPem: server.private };
}
