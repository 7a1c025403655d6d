/** Time helpers for the HubSpot connector (values, cursors, quota resets). */

/** The next local midnight in `timeZone` (IANA, default UTC) strictly after `now`. HubSpot's daily quota resets then. */
export function nextMidnight(now: Date, timeZone = 'UTC'): Date {
  if (timeZone === 'UTC') {
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  }
  // Wall-clock parts of `now` in the zone, then walk back to the zone's midnight via its offset.
  const offsetAt = (d: Date) => zoneOffsetMs(d, timeZone);
  const local = new Date(now.getTime() + offsetAt(now));
  const localMidnight = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1);
  // Offset can differ at the target instant (DST); one correction step is enough.
  let guess = localMidnight - offsetAt(now);
  guess = localMidnight - offsetAt(new Date(guess));
  return new Date(guess);
}

function zoneOffsetMs(d: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(d);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(d.getTime() / 1000) * 1000;
}

/** HubSpot timestamps arrive as ISO strings or epoch-ms strings; normalise to ISO with ms, UTC. */
export function toIso(v: unknown): string | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
  const s = String(v);
  const ms = /^\d{10,}$/.test(s) ? Number(s) : Date.parse(s);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

export function toMs(iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new TypeError(`not a timestamp: ${iso}`);
  return ms;
}
