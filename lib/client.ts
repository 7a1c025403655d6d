import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { payloadDataConverter } from './payloadCodec.js';

/**
 * Connection settings come from the standard Temporal environment (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE and the optional TOML config
 * file) through @temporalio/envconfig, so the same code runs against the local dev server, a
 * self-hosted cluster or Temporal Cloud. `address` overrides them (used for a dev server cosell started).
 */
export function connectConfig(address?: string) {
  const cfg = loadClientConnectConfig({ overrideEnvVars: address ? { ...envStrings(), TEMPORAL_ADDRESS: address } : undefined });
  const namespace = cfg.namespace ?? 'default';
  const connectionOptions = { ...cfg.connectionOptions, address: cfg.connectionOptions.address ?? 'localhost:7233' };
  return { namespace, connectionOptions };
}

function envStrings(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

export async function connectClient(address?: string): Promise<Client> {
  const { namespace, connectionOptions } = connectConfig(address);
  const connection = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]);
  // Encrypts/decrypts history payloads when a COSELL_PAYLOAD_KEY* is set (see lib/payloadCodec.ts).
  const dataConverter = payloadDataConverter();
  return new Client({ connection, namespace, ...(dataConverter ? { dataConverter } : {}) });
}

export async function connectWorkerConnection(address?: string): Promise<{ connection: NativeConnection; namespace: string }> {
  const { namespace, connectionOptions } = connectConfig(address);
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}

export const TASK_QUEUE = process.env.COSELL_TASK_QUEUE ?? 'cosell';
