import { recordDomains } from './accountIndex.js';
import type { RegistrationInput } from './types.js';

/**
 * "Action Required" (a reviewer asked the partner for fields, `requestInfo` in rules/lifecycle.ts):
 * what the requested fields hold, as canonical strings, and which of them the partner changed. Only
 * these fields decide whether the registration is re-decided — an edit of any other field leaves the
 * request open. Pure and workflow-safe.
 */

/** The value a requested field has in a registration input, canonical (trimmed; domains sorted; blank → ""). */
export function requestedValue(input: RegistrationInput, field: string): string {
  if (field === 'domain') return recordDomains(input.website, input.contactEmail).sort().join(' ');
  const raw = field.startsWith('fields.') ? input.fields?.[field.slice('fields.'.length)] : (input as unknown as Record<string, unknown>)[field];
  return canonical(raw);
}

function canonical(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'string') return v.trim();
  if (Array.isArray(v)) return v.map(canonical).filter(Boolean).sort().join(' ');
  return JSON.stringify(v);
}

/** What the requested fields hold now (the baseline stored with the request). */
export function requestedValues(input: RegistrationInput, fields: readonly string[]): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [f, requestedValue(input, f)]));
}

/** The requested fields whose value differs from the baseline, in request order (empty: not answered yet). */
export function changedRequested(baseline: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string[] {
  return Object.keys(baseline).filter((f) => (now[f] ?? '') !== baseline[f]);
}

const LABELS: Record<string, string> = {
  customerName: 'customer name',
  website: 'customer website',
  contactEmail: 'contact e-mail',
  domain: 'customer website or contact e-mail',
  country: 'customer country',
  segment: 'customer segment',
  amount: 'amount',
  currency: 'currency',
  closeDate: 'close date',
  products: 'products',
  stage: 'stage',
};

/** How a requested field is named to the partner. */
export function fieldLabel(field: string): string {
  return LABELS[field] ?? field.replace(/^fields\./, '');
}
