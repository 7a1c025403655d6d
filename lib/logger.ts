import pino, { type Logger } from 'pino';

/**
 * Logging: JSON lines by default (for machines), readable when stdout is a TTY (for people).
 * Secrets are kept out twice over: well-known credential keys are redacted by path, and every secret
 * value cosell has loaded is registered here and scrubbed from each line before it is written, so a
 * token that leaks into an error message or URL still never reaches the output.
 */
const REDACT_KEYS = [
  'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'clientSecret', 'client_secret',
  'password', 'token', 'apiKey', 'api_key', 'secret', 'privateKey', 'private_key', 'assertion',
  'authorization', 'Authorization', 'cookie',
];
const REDACT_PATHS = REDACT_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `headers.${k}`, `*.headers.${k}`]);

const secrets = new Set<string>();

/** Register a secret value so that it is scrubbed from every log line. Short values are ignored. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) secrets.add(value);
}

export function scrubSecrets(line: string): string {
  let out = line;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  // Bearer tokens in free text (e.g. an echoed request header).
  return out.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g, '$1[REDACTED]');
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
