import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LoadedNetwork } from '../lib/config.js';
import type { ChangeInfo, ChangeNotifier, ReconcileReason } from './types.js';
import { syncNowSignal, linkHandle } from '../lib/workflowClient.js';

/**
 * The notifier until change streams (issue #13) take over: every enabled link that reads the changed
 * org object gets `syncNow`, so it looks for changes at once instead of at its next schedule. The
 * link still reads through its own feed (by modification time), so this shortens the wait for
 * changes that bump the record's modification date; a change that does not — a deal moved to
 * another company, see connectors/hubspot/README.md — needs a reader that re-reads the pushed ids,
 * which is the stream's job. A link whose workflow is not running is skipped (nobody to tell).
 */
export class SyncNowNotifier implements ChangeNotifier {
  /** Signals sent per link (for status and tests). */
  readonly signals = new Map<string, number>();

  constructor(
    private readonly client: Client,
    private readonly network: LoadedNetwork,
  ) {}

  async notify(org: string, object: string, _ids: string[], _info: ChangeInfo): Promise<void> {
    await this.wake(org, object);
  }

  /** A link polls from its own cursor anyway: a reconcile is the same "look now". */
  async reconcile(org: string, object: string, _reason: ReconcileReason): Promise<void> {
    await this.wake(org, object);
  }

  private async wake(org: string, object: string): Promise<void> {
    const links = this.network.network.links.filter((l) => l.enabled && l.from === `${org}.${object}`);
    await Promise.all(
      links.map(async (l) => {
        try {
          await linkHandle(this.client, l.id).signal(syncNowSignal);
          this.signals.set(l.id, (this.signals.get(l.id) ?? 0) + 1);
        } catch (e) {
          if (e instanceof WorkflowNotFoundError) return;
          throw e;
        }
      }),
    );
  }
}
