import type { Client } from '@temporalio/client';
import type { Ledger } from '../ledger/index.js';
import type { LoadedNetwork } from '../lib/config.js';
import type { Engine } from '../sync/build.js';
import type { ConsoleUsers } from './users.js';

/** What the console reads and steers. `cosell console` opens these itself; `cosell up` passes the demo's. */
export interface ConsoleDeps {
  network: LoadedNetwork;
  ledger: Ledger;
  /** Temporal: registration decisions (workflow updates), link and stream status queries. */
  client: Client;
  /** The sync engine, for dead-letter replay and mapping previews (the CLI's code paths); opened on first use. */
  engine(): Promise<Engine>;
  users: ConsoleUsers;
  /** The Temporal Web UI's base URL and namespace, for links to workflow pages. */
  temporalUi?: { url: string; namespace: string };
  /** The CRM page of one record, when known (the sandbox's record pages in the demo). */
  recordUrl?(org: string, object: string, id: string): string | undefined;
}
