import { readFileSync } from 'node:fs';
import { CosellError } from './errors.js';
import { registerSecret } from './logger.js';

/**
 * A credential reference in config: `env:NAME` or `file:/path` (or `{ env: NAME }` / `{ file: PATH }`).
 * Secrets never live in config files; the value is read here and registered with the logger so it is
 * scrubbed from every log line.
 */
export type SecretRef = string | { env: string } | { file: string };

export function resolveSecret(ref: SecretRef, where = 'config'): string {
  const r = typeof ref === 'string' ? parseRef(ref, where) : ref;
  let value: string | undefined;
  if ('env' in r) {
    value = process.env[r.env];
    if (!value) throw new CosellError('COSELL_SECRET_MISSING', `${where}: environment variable ${r.env} is not set`, { hint: `export ${r.env}=... before starting cosell` });
  } else {
    try {
      value = readFileSync(r.file, 'utf8').trim();
    } catch (e) {
      throw new CosellError('COSELL_SECRET_MISSING', `${where}: cannot read secret file ${r.file}`, { cause: e, hint: 'check the path and its permissions' });
    }
  }
  registerSecret(value);
  return value;
}

function parseRef(ref: string, where: string): { env: string } | { file: string } {
  if (ref.startsWith('env:')) return { env: ref.slice(4) };
  if (ref.startsWith('file:')) return { file: ref.slice(5) };
  throw new CosellError('COSELL_CONFIG_INVALID', `${where}: credential "${ref.slice(0, 4)}…" must be a reference like env:NAME or file:/path, never the secret itself`);
}
