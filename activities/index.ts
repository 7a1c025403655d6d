import os from 'node:os';
import { CosellError } from '../lib/errors.js';
import type { Engine } from '../sync/build.js';
import { createSyncActivities } from './sync.js';
import { createStreamActivities } from './stream.js';
import { createOverlapActivities } from './overlap.js';
import { createRegistrationActivities } from './registration.js';
import { createAnalyticsActivities } from './analytics.js';
import { createNotifyActivities } from './notify.js';
import type { Client } from '@temporalio/client';
import type { Policy } from '../rules/index.js';

export interface ActivityDeps {
  /** The sync engine for the network this worker serves (absent: a worker with no network file). */
  engine?: Engine;
  /** Rules of Engagement policy for registrations (default: the network file's `rules:`). */
  policy?: Policy;
  /** Temporal client the registration activities signal workflows with. */
  client?: Client;
}

/**
 * All activities, built from their dependencies. Activities are thin: they call connectors, mappings,
 * rules and the ledger, which are plain modules with their own tests.
 */
export function createActivities(deps: ActivityDeps = {}) {
  const engine =
    deps.engine ??
    (new Proxy({}, {
      get() {
        throw new CosellError('COSELL_CONFIG_INVALID', 'this worker was started without a network file', { hint: 'start it with `cosell worker --config cosell.yaml`' });
      },
    }) as Engine);
  return {
    async describeWorker(): Promise<string> {
      return `${os.hostname()} (node ${process.version}, pid ${process.pid})`;
    },
    ...createSyncActivities(engine),
    ...createStreamActivities(engine),
    ...createOverlapActivities(engine),
    ...createRegistrationActivities({ engine, policy: deps.policy, client: deps.client }),
    ...createAnalyticsActivities(engine, deps.policy),
    ...createNotifyActivities(engine),
  };
}

export type Activities = ReturnType<typeof createActivities>;
