import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';
import { CosellError } from '../lib/errors.js';
import { registerSecret } from '../lib/logger.js';
import { resolveSecret } from '../lib/secrets.js';
import { YamlSource } from '../lib/yamlSource.js';
import type { Problem } from '../lib/problems.js';
import { configTextOrThrow, invalidFile } from '../lib/configFile.js';

/**
 * Console users and roles, from a YAML file (`--users`, `COSELL_CONSOLE_USERS`):
 *
 *   users:
 *     - { name: ana, role: admin, password: "scrypt$16384$8$1$<salt>$<hash>" }
 *     - { name: ben, role: channel-manager, password: env:BEN_PASSWORD_HASH }
 *   sessionSecret: env:COSELL_CONSOLE_SESSION_SECRET      # optional; this is the default
 *
 * Passwords are stored only as scrypt hashes (`cosell console hash-password` makes one), inline or
 * behind an `env:`/`file:` reference; a plain password is refused with its position. Roles:
 *   viewer           reads every page
 *   channel-manager  + decides registrations (approve / reject / extend)
 *   admin            + replays dead letters and previews mappings on live records
 */
export const ROLES = ['viewer', 'channel-manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ConsoleUser {
  name: string;
  role: Role;
  /** `scrypt$N$r$p$salt$hash` (base64url salt and hash). */
  passwordHash: string;
}

export interface ConsoleUsers {
  users: ConsoleUser[];
  sessionSecret: string;
}

/** What a role may do; each action route names the permission it needs. */
export type Permission = 'view' | 'decide' | 'operate';
const GRANTS: Record<Role, readonly Permission[]> = { viewer: ['view'], 'channel-manager': ['view', 'decide'], admin: ['view', 'decide', 'operate'] };
export const can = (role: Role, p: Permission): boolean => GRANTS[role].includes(p);

// N=2^15, r=8, p=1: 32 MiB of memory per hash (OWASP lists N=2^17 as the strong setting; 2^15 keeps a
// login near 0.1 s on a 2-core machine). Stored in the hash, so raising it later keeps old hashes valid.
const DEFAULTS = { N: 32768, r: 8, p: 1, keyLength: 32 };
const HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

function scrypt(password: string, salt: Buffer, keyLength: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFKC'), salt, keyLength, opts, (e, key) => (e ? reject(e) : resolve(key))));
}

const maxmem = (N: number, r: number) => 256 * N * r + 1024 * 1024;

export async function hashPassword(password: string): Promise<string> {
  if (password.length < 8) throw new CosellError('COSELL_INPUT_INVALID', 'a console password needs at least 8 characters');
  const { N, r, p, keyLength } = DEFAULTS;
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, keyLength, { N, r, p, maxmem: maxmem(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time check of a password against a stored hash; a malformed hash is simply a mismatch. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = HASH.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5], 'base64url');
  if (N > 2 ** 20 || r > 32 || p > 16) return false; // a hostile file must not make logins hang
  const key = await scrypt(password, Buffer.from(m[4], 'base64url'), expected.length, { N, r, p, maxmem: maxmem(N, r) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash for names that are not users, so an unknown name costs as long as a wrong password. */
export const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

const userSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'a user name is 1–64 letters, digits, . _ @ or -'),
  role: z.enum(ROLES),
  password: z.string().min(1),
});
const fileSchema = z.strictObject({
  users: z.array(userSchema).min(1, 'at least one user'),
  sessionSecret: z.string().optional(),
});

/** Parse a users file; every problem positioned (file:line:col). Secrets are resolved here. */
export function parseUsers(text: string, file: string, env: NodeJS.ProcessEnv = process.env): { users?: ConsoleUsers; problems: Problem[] } {
  const src = new YamlSource(text, file);
  const doc = src.validate(fileSchema, 'CONSOLE_USERS_INVALID');
  if (!doc) return { problems: src.problems };
  const users: ConsoleUser[] = [];
  const seen = new Set<string>();
  for (const [i, u] of doc.users.entries()) {
    if (seen.has(u.name)) src.problem(['users', i, 'name'], 'CONSOLE_USERS_INVALID', `user "${u.name}" is listed twice`, 'keep one entry per user');
    seen.add(u.name);
    let hash = u.password;
    if (/^(env|file):/.test(hash)) {
      try {
        hash = resolveSecret(hash, `${file}: users[${i}].password`);
      } catch (e) {
        src.problem(['users', i, 'password'], 'CONSOLE_USERS_INVALID', (e as Error).message, (e as CosellError).hint);
        continue;
      }
    }
    if (!HASH.test(hash)) {
      src.problem(['users', i, 'password'], 'CONSOLE_USERS_INVALID', `user "${u.name}": the password must be an scrypt hash, never the password itself`, 'make one with `cosell console hash-password` and paste it here (or reference it as env:NAME / file:/path)');
      continue;
    }
    users.push({ name: u.name, role: u.role, passwordHash: hash });
  }
  const ref = doc.sessionSecret ?? 'env:COSELL_CONSOLE_SESSION_SECRET';
  let sessionSecret = '';
  if (!/^(env|file):/.test(ref)) {
    src.problem(['sessionSecret'], 'CONSOLE_USERS_INVALID', 'sessionSecret must be a reference like env:NAME or file:/path, never the secret itself', 'put it in an environment variable or a file');
  } else if (ref.startsWith('env:') && !env[ref.slice(4)]) {
    src.problem(doc.sessionSecret ? ['sessionSecret'] : [], 'CONSOLE_USERS_INVALID', `environment variable ${ref.slice(4)} (the session secret) is not set`, `export ${ref.slice(4)}="$(openssl rand -base64 32)"`);
  } else {
    try {
      sessionSecret = ref.startsWith('env:') ? env[ref.slice(4)]! : resolveSecret(ref, `${file}: sessionSecret`);
      registerSecret(sessionSecret);
      if (sessionSecret.length < 32) src.problem(doc.sessionSecret ? ['sessionSecret'] : [], 'CONSOLE_USERS_INVALID', 'the session secret needs at least 32 characters', 'generate one with `openssl rand -base64 32`');
    } catch (e) {
      src.problem(['sessionSecret'], 'CONSOLE_USERS_INVALID', (e as Error).message, (e as CosellError).hint);
    }
  }
  if (src.problems.length) return { problems: src.problems };
  return { users: { users, sessionSecret }, problems: [] };
}

export function loadUsers(file: string): ConsoleUsers {
  const text = configTextOrThrow(file, 'console users file', { error: 'COSELL_CONFIG_INVALID', problem: 'CONSOLE_USERS_INVALID' }, 'pass --users FILE (see console/README.md for its format)');
  const { users, problems } = parseUsers(text, file);
  if (!users) throw invalidFile('COSELL_CONFIG_INVALID', problems);
  return users;
}
