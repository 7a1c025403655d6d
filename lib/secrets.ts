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

/**
 * What is wrong with a credential reference, without reading more than it must and without returning
 * the value: for checking a whole configuration before anything connects (lib/configCheck.ts).
 */
export function secretProblem(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): { message: string; hint: string } | undefined {
  let r: { env: string } | { file: string };
  try {
    r = typeof ref === 'string' ? parseRef(ref, 'config') : ref;
  } catch {
    return { message: 'a credential must be a reference like env:NAME or file:/path, never the secret itself', hint: 'put the secret in an environment variable or a file and write env:NAME or file:/path here' };
  }
  if ('env' in r) {
    return env[r.env] ? undefined : { message: `environment variable ${r.env} is not set`, hint: `export ${r.env}=... before starting cosell` };
  }
  try {
    if (readFileSync(r.file, 'utf8').trim() === '') return { message: `secret file ${r.file} is empty`, hint: 'write the secret into the file' };
  } catch (e) {
    return { message: `cannot read secret file ${r.file} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`, hint: 'check the path and its permissions' };
  }
  return undefined;
}

function parseRef(ref: string, where: string): { env: string } | { file: string } {
  if (ref.startsWith('env:')) return { env: ref.slice(4) };
  if (ref.startsWith('file:')) return { file: ref.slice(5) };
  throw new CosellError('COSELL_CONFIG_INVALID', `${where}: credential "${ref.slice(0, 4)}…" must be a reference like env:NAME or file:/path, never the secret itself`);
}
