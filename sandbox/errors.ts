/**
 * What the sandbox throws at whoever starts it: a bad config, an org it does not host. It is its own
 * package and cannot import cosell's catalogue (lib/errors.ts), so it carries the catalogue's code by
 * value; cosell's `toCosellError` keeps any catalogue code an error carries, so `cosell sandbox` and
 * the demo still exit 2 with the hint.
 */
export class SandboxConfigError extends Error {
  readonly code = 'COSELL_CONFIG_INVALID';
  readonly hint?: string;
  readonly details: Record<string, unknown>;

  constructor(message: string, opts: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SandboxConfigError';
    this.hint = opts.hint;
    this.details = opts.details ?? {};
  }
}
