import pino, { type Logger } from 'pino';

/**
 * Logging: JSON lines by default (for machines), readable when stdout is a TTY (for people).
 * Secrets are kept out twice over: well-known credential keys are redacted by path, and every secret
 * value cosell has loaded is registered here and scrubbed from each line before it is written, so a
 * token that leaks into an error message or URL still never reaches the output.
 */
const REDACT_KEYS = [
  'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'clientSecret', 'client_secret',
  'password', 'token', 'securityToken', 'security_token', 'apiKey', 'api_key', 'secret', 'privateKey', 'private_key', 'assertion',
  'authorization', 'Authorization', 'cookie',
];
const REDACT_PATHS = REDACT_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `headers.${k}`, `*.headers.${k}`]);

const secrets = new Set<string>();
/** Every form a registered secret can take in a log line, longest first (so no form is left half-replaced). */
let forms: string[] = [];
const MARKER = '[REDACTED]';
const MIN_SECRET = 6;

/**
 * The spellings of a secret that can reach a log line: as it is; JSON-escaped (a key with newlines, a
 * password with quotes or backslashes, as pino writes them) and JSON-escaped twice (inside an error
 * message that quotes a JSON body); URL-encoded (a token in a query string, percent- or form-encoded);
 * and each line of a multi-line secret (a PEM key's body printed line by line or with CRLFs).
 */
export function secretForms(value: string): string[] {
  const out = new Set<string>();
  const add = (f: string) => {
    if (f.length >= MIN_SECRET) out.add(f);
  };
  const json = (x: string) => JSON.stringify(x).slice(1, -1);
  for (const v of [value, ...value.split(/\r?\n|\r/).map((l) => l.trim()).filter((l) => l.length >= 16 && !/^-----(BEGIN|END) /.test(l))]) {
    add(v);
    add(json(v));
    add(json(json(v)));
    add(new URLSearchParams({ v }).toString().slice(2));
    try {
      add(encodeURIComponent(v));
      add(encodeURI(v));
    } catch {
      /* a lone surrogate cannot be percent-encoded, so it never reaches a URL in that form */
    }
    add(escapeUnicode(json(v)));
  }
  return [...out];
}

/** JSON with every non-ASCII character as \\uXXXX (how some serialisers write strings). */
function escapeUnicode(s: string): string {
  return s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Register a secret value so that it is scrubbed from every log line. Short values are ignored. */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_SECRET || secrets.has(value)) return;
  secrets.add(value);
  const all = new Set(forms);
  for (const f of secretForms(value)) all.add(f);
  forms = [...all].sort((a, b) => b.length - a.length);
}

export function scrubSecrets(line: string): string {
  let out = line;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join(MARKER);
  // Bearer tokens in free text (e.g. an echoed request header).
  return out.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g, `$1${MARKER}`);
}

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.COSELL_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && process.env.COSELL_LOG_FORMAT !== 'json');
  const base: pino.LoggerOptions = {
    level,
    base: { app: 'cosell' },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    hooks: { streamWrite: scrubSecrets },
  };
  if (opts.destination) return pino(base, opts.destination);
  if (pretty) {
    return pino(base, pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname,app' } }));
  }
  return pino(base);
}

export const log: Logger = createLogger();
