/** Policy durations: "90d", "48h", "30m", "10s", "500ms", "2w". Pure (workflow-safe). */
const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d|w)$/;

export function parsePolicyDuration(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2] as keyof typeof UNITS];
}
