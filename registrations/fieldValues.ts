/**
 * Readers of the raw values CRMs hand back for a partner deal or a vendor record: trimmed text or
 * null, finite numbers or null, ISO times from epoch-ms strings or dates, ISO country codes.
 * Shared by the gate, the customer read and the vendor-account index feed.
 */

export function str(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const s = String(v).trim();
  return s ? s : null;
}

export function num(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** An ISO timestamp from HubSpot's epoch-ms strings or any date Date.parse reads; null when neither. */
export function isoOrNull(v: unknown): string | null {
  const s = str(v);
  if (!s) return null;
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

const COUNTRY_NAMES: Record<string, string> = {
  'united states': 'US', usa: 'US', 'united kingdom': 'GB', germany: 'DE', france: 'FR', netherlands: 'NL', japan: 'JP', australia: 'AU',
  canada: 'CA', brazil: 'BR', india: 'IN', sweden: 'SE', spain: 'ES', italy: 'IT', ireland: 'IE', switzerland: 'CH', austria: 'AT',
};

/** ISO alpha-2 from what CRMs hold (codes or English names). */
export function countryCode(v: unknown): string | null {
  const s = str(v);
  if (!s) return null;
  if (/^[A-Za-z]{2,3}$/.test(s)) return s.toUpperCase();
  return COUNTRY_NAMES[s.toLowerCase()] ?? s;
}
