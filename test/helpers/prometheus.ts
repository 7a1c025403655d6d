/**
 * A reader of the Prometheus text exposition format, for tests that scrape /metrics: every sample
 * with its labels (escapes undone), so a test asserts on numbers, not on text.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;

const unescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    NAME.lastIndex = 0;
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`line ${i + 1}: no metric name: ${line}`);
    let pos = name.length;
    const labels: Record<string, string> = {};
    if (line[pos] === '{') {
      pos++;
      for (;;) {
        LABEL.lastIndex = pos;
        const m = LABEL.exec(line);
        if (!m) break;
        labels[m[1]] = unescape(m[2]);
        pos = LABEL.lastIndex;
      }
      if (line[pos] !== '}') throw new Error(`line ${i + 1}: bad labels at column ${pos + 1}: ${line}`);
      pos++;
    }
    const [value] = line.slice(pos).trim().split(/\s+/); // a timestamp may follow
    // Prometheus reads NaN and ±Inf in any case (prom-client writes "Nan").
    const special: Record<string, number> = { nan: Number.NaN, '+inf': Infinity, inf: Infinity, '-inf': -Infinity };
    const n = value === undefined ? Number.NaN : (special[value.toLowerCase()] ?? Number(value));
    if (value === undefined || (Number.isNaN(n) && value.toLowerCase() !== 'nan')) throw new Error(`line ${i + 1}: bad value: ${line}`);
    out.push({ name, labels, value: n });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels` (undefined: none; several: an error). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}
