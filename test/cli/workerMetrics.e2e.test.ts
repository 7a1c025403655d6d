import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { temporalAddress, uniqueQueue } from '../helpers/temporal.js';
import { eventually } from '../helpers/wait.js';

/**
 * `cosell worker --metrics-port` as a user runs it (its own process, the workflow code bundled in a
 * child, SIGTERM to stop), against the shared dev server: the port it got is in its log line, /readyz
 * turns 200 once it runs, /metrics carries the Temporal runtime's series, and SIGTERM ends it with 0
 * and the port closed. A taken port exits 2 with COSELL_PORT_IN_USE before anything connects.
 */
const bin = new URL('../../bin/cosell.js', import.meta.url).pathname;
const env = (extra: Record<string, string>) => {
  const e: Record<string, string | undefined> = { ...process.env, COSELL_LOG_FORMAT: 'json', ...extra };
  delete e.COSELL_CONFIG;
  delete e.COSELL_METRICS_PORT;
  return e;
};
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('cosell worker --metrics-port', () => {
  it('serves /readyz and /metrics while it runs and stops cleanly on SIGTERM', async () => {
    const child = spawn('node', [bin, 'worker', '--metrics-port', '0', '--task-queue', uniqueQueue('ops-cli')], { stdio: ['ignore', 'pipe', 'pipe'], env: env({ TEMPORAL_ADDRESS: temporalAddress() }) });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const url = await eventually('the ops server log line', async () => /"url":"(http:\/\/127\.0\.0\.1:\d+)","msg":"serving \/metrics/.exec(out)?.[1], { timeoutMs: 60_000, intervalMs: 100 });
      await eventually('/readyz 200', async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), { timeoutMs: 120_000, intervalMs: 250 });
      const samples = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
      expect(sampleValue(samples, 'cosell_temporal_runtime_metrics_up')).toBe(1);
      expect(samples.some((s) => s.name.startsWith('temporal_'))).toBe(true);
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 30 s after SIGTERM'), 30_000))]);
      expect(code, out.slice(-2000)).toBe(0);
      expect(await portOpen(Number(new URL(url).port))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 200_000);

  it('exits 2 with COSELL_PORT_IN_USE on a taken port', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const child = spawn('node', [bin, 'worker', '--metrics-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env: env({ TEMPORAL_ADDRESS: '127.0.0.1:1' }) });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code, out).toBe(2);
      expect(out).toContain('COSELL_PORT_IN_USE');
      expect(out).toContain(`127.0.0.1:${port}`);
    } finally {
      taken.close();
    }
  }, 60_000);
});
