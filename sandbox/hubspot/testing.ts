import fastify, { type FastifyInstance } from 'fastify';
import { acceptEmptyJsonBodies, serviceServerOptions } from '../http.js';
import { generateSeed } from '../seed.js';
import type { OrgConfig, SeedSpec } from '../types.js';
import { createHubspotOrg, type HubspotSandboxOrg } from './index.js';

/**
 * Start one HubSpot portal on its own fastify instance on a free port, for tests and benchmarks that
 * do not need the whole sandbox host. `basePath` is what @hubspot/api-client's `basePath` takes.
 */
export interface RunningPortal {
  org: HubspotSandboxOrg;
  app: FastifyInstance;
  basePath: string;
  accessToken: string;
  close(): Promise<void>;
}

export async function startHubspotPortal(config: Partial<OrgConfig> & { seed?: SeedSpec } = {}): Promise<RunningPortal> {
  const full: OrgConfig = { id: config.id ?? 'hs-test', kind: 'hubspot', ...config };
  const seed = config.seed ? generateSeed(config.seed, { orgId: full.id, role: full.role ?? 'partner' }) : undefined;
  const org = createHubspotOrg(full, seed);
  const app = fastify({ logger: false, ...serviceServerOptions });
  acceptEmptyJsonBodies(app);
  await org.register(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const basePath = `http://127.0.0.1:${port}`;
  return { org, app, basePath, accessToken: (org.connectionInfo(basePath) as { accessToken: string }).accessToken, close: async () => {
    org.close();
    await app.close();
  } };
}
