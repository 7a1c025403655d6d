import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { isCosellError } from '../lib/errors.js';
import { startOpsServer, type Readiness } from '../lib/opsServer.js';

/** The ops server binds the port it is given (no probe first) and says clearly when it is taken. */
describe('startOpsServer', () => {
  const metrics = { text: async () => 'cosell_example 1\n' };

  it('refuses a taken port with COSELL_PORT_IN_USE naming it, and binds port 0 to a real free one', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const err = await startOpsServer({ port, metrics, readiness: async () => ({ ready: true, checks: {} }) }).then(() => undefined, (e: unknown) => e);
      expect(isCosellError(err, 'COSELL_PORT_IN_USE')).toBe(true);
      expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    } finally {
      taken.close();
    }
    const ops = await startOpsServer({ port: 0, metrics, readiness: async () => ({ ready: true, checks: {} }) });
    try {
      expect(ops.port).toBeGreaterThan(0);
      expect(ops.url).toBe(`http://127.0.0.1:${ops.port}`);
      expect(await (await fetch(`${ops.url}/metrics`)).text()).toBe('cosell_example 1\n');
    } finally {
      await ops.close();
    }
  });

  it('answers /readyz from the readiness it is given, 404 elsewhere and 405 for writes', async () => {
    let r: Readiness = { ready: false, reason: 'worker: created, not running yet', checks: { worker: 'created, not running yet' } };
    const ops = await startOpsServer({ port: 0, metrics, readiness: async () => r });
    try {
      const before = await fetch(`${ops.url}/readyz`);
      expect(before.status).toBe(503);
      expect(await before.json()).toEqual(r);
      r = { ready: true, checks: { worker: 'ok' } };
      expect((await fetch(`${ops.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${ops.url}/nope`)).status).toBe(404);
      expect((await fetch(`${ops.url}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await ops.close();
    }
  });
});
