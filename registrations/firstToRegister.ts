import { readThroughOf } from '../connectors/types.js';
import type { DeadLetterCode } from '../lib/errors.js';
import type { Ledger } from '../ledger/index.js';
import { streamCursorId } from '../ledger/streams.js';
import { splitEndpoint, type LoadedNetwork } from '../lib/config.js';
import { streamIdOf } from '../ledger/streams.js';
import { linkConsumerId, streamsEnabled } from '../sync/streamPlan.js';

/**
 * First to register is the deal the partner created first in its own CRM — but every registration link
 * polls its own partner on its own schedule. A deal auto-approved the moment its link reads it would win
 * over an earlier deal another partner's link simply had not read yet, and an approved registration is
 * never taken over. So an auto-approval waits, holding its claim as `submitted` (a pending claim an
 * earlier-created registration still takes over), until every other registration link has read its
 * source past the moment this deal was first seen — or until the policy's `matching.firstToRegister.wait`
 * has passed (a failing or paused partner link delays other partners' auto-approvals by at most that;
 * a link that is not running at all — no link workflow — is not waited for).
 * Meanwhile the deal is parked under this dead-letter code and retried after each catch-up.
 */
export const AWAITING_PEER_LINKS = 'REGISTRATION_AWAITS_PEER_LINKS' satisfies DeadLetterCode;

/**
 * How far a link has read its source (source-CRM time, ms): every change committed there before it has
 * been through the link's pages. A link on its own feed: the feed's `through`. A link on a change
 * stream: the stream feed's `through`, but no later than the oldest log entry the link has not
 * processed. Undefined when nobody can tell (the feed does not report it, or no scan has finished).
 */
export async function linkReadThrough(network: LoadedNetwork, ledger: Ledger, linkId: string): Promise<number | undefined> {
  if (!streamsEnabled(network)) return readThroughOf(await ledger.cursors.get(linkId, 'changes'));
  const { org, object } = splitEndpoint(network.link(linkId).from);
  const streamId = streamIdOf(org, object);
  const fed = readThroughOf(await ledger.cursors.get(streamCursorId(streamId), 'changes'));
  if (fed === undefined) return undefined;
  const pos = await ledger.streams.position(streamId, linkConsumerId(linkId));
  if (!pos) return undefined;
  const oldest = await ledger.streams.oldestAfter(streamId, pos.seq);
  return oldest === undefined ? fed : Math.min(fed, Date.parse(oldest) - 1);
}

/**
 * The other registration links that have not read their source through `sinceMs` (or cannot say) and
 * are running — a link nobody runs reads nothing however long one waits (`running` says; links with a
 * running link workflow, in a worker).
 */
export async function peersBehind(network: LoadedNetwork, ledger: Ledger, linkId: string, sinceMs: number, running: (linkId: string) => Promise<boolean>): Promise<string[]> {
  const peers = network.network.links.filter((l) => l.registration && l.enabled !== false && l.id !== linkId);
  const behind: string[] = [];
  for (const peer of peers) {
    const through = await linkReadThrough(network, ledger, peer.id);
    if ((through === undefined || through < sinceMs) && (await running(peer.id))) behind.push(peer.id);
  }
  return behind;
}
