import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LoadedNetwork } from '../lib/config.js';
import { streamIdOf } from '../ledger/streams.js';
import { streamsEnabled, streamSpec } from '../sync/streamPlan.js';
import { SyncNowNotifier } from './syncNowNotifier.js';
import type { ChangeInfo, ChangeNotifier, ReconcileReason } from './types.js';
import { streamNotifySignal, streamPollNowSignal, streamHandle } from '../lib/workflowClient.js';

/** Ids per signal: keeps each signal's payload small in the stream's history. */
const IDS_PER_SIGNAL = 500;

/**
 * With change streams on (`streams.enabled`), a pushed change goes to the org object's stream
 * (`stream:<org>:<object>`, signal `streamNotify` with the ids): the stream reads those records by id
 * and wakes every consumer — the links, the rules index and the overlap passes. An org object no
 * stream reads has no consumer and is skipped, as is a stream whose workflow is not running.
 */
export class StreamNotifier implements ChangeNotifier {
  readonly signals = new Map<string, number>();

  constructor(
    private readonly client: Client,
    private readonly network: LoadedNetwork,
  ) {}

  async notify(org: string, object: string, ids: string[], _info: ChangeInfo): Promise<void> {
    const id = streamIdOf(org, object);
    if (!streamSpec(this.network, id)) return;
    const handle = streamHandle(this.client, id);
    try {
      for (let i = 0; i < ids.length; i += IDS_PER_SIGNAL) await handle.signal(streamNotifySignal, { ids: ids.slice(i, i + IDS_PER_SIGNAL) });
      this.signals.set(id, (this.signals.get(id) ?? 0) + 1);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return;
      throw e;
    }
  }

  /** Push cannot name the records (push/types.ts): the stream polls its org object now (`streamPollNow`). */
  async reconcile(org: string, object: string, _reason: ReconcileReason): Promise<void> {
    const id = streamIdOf(org, object);
    if (!streamSpec(this.network, id)) return;
    try {
      await streamHandle(this.client, id).signal(streamPollNowSignal);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return;
      throw e;
    }
  }
}

/** The notifier a worker uses: the org object's change stream when streams are on, else the links' syncNow. */
export function defaultNotifier(client: Client, network: LoadedNetwork): StreamNotifier | SyncNowNotifier {
  return streamsEnabled(network) ? new StreamNotifier(client, network) : new SyncNowNotifier(client, network);
}
