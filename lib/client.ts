import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { CosellError } from './errors.js';
import { payloadDataConverter } from './payloadCodec.js';
import { activeTracing } from './tracing.js';

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
  const connection = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]).catch((e) => {
    throw unreachable(connectionOptions.address, namespace, e);
  });
  // Encrypts/decrypts history payloads when a COSELL_PAYLOAD_KEY* is set (see lib/payloadCodec.ts).
  const dataConverter = payloadDataConverter();
  // With tracing on, starting a workflow (and each signal, update, query) is a span whose context
  // travels in the request's headers: the workflow's spans join the caller's trace.
  const tracing = activeTracing();
  const interceptors = tracing ? { workflow: [new (await import('@temporalio/interceptors-opentelemetry')).OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] } : undefined;
  return new Client({ connection, namespace, ...(dataConverter ? { dataConverter } : {}), ...(interceptors ? { interceptors } : {}) });
}

export async function connectWorkerConnection(address?: string): Promise<{ connection: NativeConnection; namespace: string }> {
  const { namespace, connectionOptions } = connectConfig(address);
  try {
    return { connection: await NativeConnection.connect(connectionOptions), namespace };
  } catch (e) {
    throw unreachable(connectionOptions.address, namespace, e);
  }
}

/** The SDK's transport error (`tonic::transport::Error(...)`) says nothing about where or what to do. */
function unreachable(address: string, namespace: string, cause: unknown): CosellError {
  const detail = String((cause as Error)?.message ?? cause);
  const reason = /Connection refused|ConnectionRefused/i.test(detail) ? 'connection refused' : detail.length > 200 ? `${detail.slice(0, 200)}…` : detail;
  return new CosellError('COSELL_TEMPORAL_UNREACHABLE', `cannot connect to Temporal at ${address} (namespace ${namespace}): ${reason}`, {
    cause,
    hint: 'start a server (`npm start`, or `temporal server start-dev`), or point TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY (or a TEMPORAL_PROFILE) at yours',
  });
}

export const TASK_QUEUE = process.env.COSELL_TASK_QUEUE ?? 'cosell';
