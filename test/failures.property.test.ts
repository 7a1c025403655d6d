import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CosellError, ErrorCodes, retryOf, type ErrorCode } from '../lib/errors.js';
import { toActivityFailure, type FailureDetails } from '../lib/failures.js';

/**
 * The one normaliser (lib/failures.ts, an activity interceptor on every worker): whatever an activity
 * throws, the failure's type is its catalogue code and Temporal retries it exactly when the catalogue
 * says `retry` — workflows no longer keep their own lists of codes not to retry.
 */
const CODES = Object.keys(ErrorCodes) as ErrorCode[];

describe('toActivityFailure (property)', () => {
  it('types every thrown value by its code and retries exactly what the catalogue calls retryable', () => {
    const thrown = fc.oneof(
      fc.record({ code: fc.constantFrom(...CODES), message: fc.string(), hint: fc.option(fc.string({ minLength: 1 }), { nil: undefined }) }).map(({ code, message, hint }) => ({ value: new CosellError(code, message || undefined, { hint }) as unknown, code })),
      fc.string().map((m) => ({ value: new Error(m) as unknown, code: 'COSELL_UNKNOWN' })),
      fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map((v) => ({ value: v as unknown, code: 'COSELL_UNKNOWN' })),
    );
    fc.assert(
      fc.property(thrown, ({ value, code }) => {
        const f = toActivityFailure(value) as ApplicationFailure;
        expect(f).toBeInstanceOf(ApplicationFailure);
        expect(f.type).toBe(code);
        expect(f.nonRetryable).toBe(retryOf(code) !== 'retry');
        expect((f.details?.[0] as FailureDetails).code).toBe(code);
        if (value instanceof CosellError && value.hint) expect(f.message).toContain(value.hint);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves failures an activity already shaped as they are', () => {
    const shaped = ApplicationFailure.create({ type: 'COSELL_TEST', message: 'x', nonRetryable: false });
    expect(toActivityFailure(shaped)).toBe(shaped);
    const cancelled = new CancelledFailure('gone');
    expect(toActivityFailure(cancelled)).toBe(cancelled);
  });

  it('the registration activities raise catalogue errors, not hand-made failures', () => {
    const text = readFileSync(new URL('../activities/registration.ts', import.meta.url), 'utf8');
    expect(text).not.toMatch(/ApplicationFailure\.create/);
    for (const code of ['COSELL_REGISTRATION_STATE', 'COSELL_REGISTRATION_UNKNOWN', 'COSELL_ATTRIBUTION_INVALID', 'COSELL_CONFIG_INVALID'] as const) expect(retryOf(code)).toBe('fix');
  });
});
