import { existsSync } from 'node:fs';
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { connectClient } from '../lib/client.js';
import { loadNetwork } from '../lib/config.js';
import { CosellError } from '../lib/errors.js';
import { linkStatuses, startLinks } from '../lib/links.js';
import { streamStatuses } from '../lib/streams.js';
import { pumpStream } from '../sync/stream.js';
import { topicOf } from '../connectors/salesforce/cdc/subscriber.js';
import { DEFAULT_LEDGER_FILE, type StoredLease } from '../ledger/index.js';
import { openEngine } from '../app/engine.js';
import { backfillMappingPage } from '../sync/mappingChange.js';
import { replayDeadLetters, syncChangesPage, syncDeletionsPage } from '../sync/page.js';
import { replayLinkDeadLetters } from '../lib/deadLetterReplay.js';
import { resyncFromProblem } from '../sync/resync.js';
import { suggestionHint } from '../lib/suggest.js';
import { configOption, jsonOption, limitOption, printJson, wholeNumber } from './options.js';
import { formatTable } from './table.js';
import { openLedgerOf } from './registrations.js';
import { linkWorkflowId, pauseSignal, resumeSignal, resyncUpdate, syncNowSignal, linkHandle } from '../lib/workflowClient.js';

function fmtLag(ms?: number): string {
  if (ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

export function registerSync(program: Command): void {
  program
    .command('status')
    .description("print every link's state, lag and counts, and every change stream's mode, position, lag and reconciler results (from the running workflows)")
    .option(...configOption())
    .option(...jsonOption)
    .action(async (opts: { json?: boolean; config: string }) => {
      const client = await connectClient();
      try {
        const rows = await linkStatuses(client);
        const streams = (await streamStatuses(client)).map((r) => ({ ...r, ...(r.status?.mode === 'push' ? { cdcLease: undefined as StoredLease | undefined } : {}) }));
        const leases = streams.some((r) => 'cdcLease' in r) ? await cdcLeases(opts.config) : [];
        for (const r of streams) {
          if (!('cdcLease' in r)) continue;
          const [org, object] = r.workflowId.replace(/^stream:/, '').split(':');
          r.cdcLease = leases.find((l) => l.orgId === org && l.topic === topicOf(object));
          if (!r.cdcLease) delete r.cdcLease;
        }
        if (opts.json) return void process.stdout.write(JSON.stringify(streams.length ? { links: rows, streams } : rows) + '\n');
        if (streams.length) {
          process.stdout.write('change streams\n');
          process.stdout.write(formatTable(
            streams.map((r) => ({
              stream: r.workflowId.replace(/^stream:/, ''),
              mode: r.status?.mode ?? 'unknown',
              state: r.status?.state ?? 'unknown',
              position: r.status?.head ?? '-',
              lag: fmtLag(r.status?.lagMs),
              'last poll': r.status?.lastPollAt ?? '-',
              'last event': r.status?.lastEventAt ?? '-',
              reconciler: r.status?.reconciled ? `${r.status.reconciled.polled} read at ${r.status.reconciled.at}${r.status.associations ? `, ${r.status.associations.checked} associations checked` : ''}` : '-',
              // What the last reconciler pass found that push had not brought (with push on; should be 0).
              'records push missed': r.status?.mode === 'push' && r.status.reconciled ? r.status.reconciled.missed : '-',
              consumers: r.status?.consumers.length ?? 0,
              // Salesforce CDC: the worker holding the topic's lease subscribes it (the others stand by).
              'cdc lease': r.cdcLease ? (r.cdcLease.expiresAt > Date.now() ? `${r.cdcLease.holder} (epoch ${r.cdcLease.epoch})` : `none (${r.cdcLease.holder}'s expired)`) : '-',
              'last error': r.status?.lastError ?? r.error ?? '',
            })),
          ));
          process.stdout.write('links\n');
        }
        if (rows.length === 0) return void process.stdout.write('no running links (start them with `cosell sync start` or `cosell up`)\n');
        const table = rows.map((r) => ({
          link: r.workflowId.replace(/^sync:/, ''),
          state: r.status?.state ?? 'unknown',
          lag: fmtLag(r.status?.lagMs),
          read: r.status?.counts.read ?? 0,
          created: r.status?.counts.created ?? 0,
          updated: r.status?.counts.updated ?? 0,
          unchanged: r.status?.counts.unchanged ?? 0,
          skipped: r.status?.counts.skipped ?? 0,
          failed: r.status?.counts.failed ?? 0,
          deleted: r.status?.counts.deleted ?? 0,
          'last error': r.status?.lastError ?? r.error ?? '',
        }));
        // read = created + updated + unchanged + skipped + failed: every record read lands in one column.
        process.stdout.write(formatTable(table));
      } finally {
        await client.connection.close();
      }
    });

  const sync = program.command('sync').description('run and steer links');

  sync
    .command('start [links...]')
    .description('start the link workflows (all enabled links by default); idempotent')
    .option(...configOption())
    .option(...jsonOption)
    .action(async (links: string[], opts: { config: string; json?: boolean }) => {
      const loaded = loadNetwork(opts.config);
      for (const id of links) loaded.link(id); // an unknown link is an error, not a silent no-op
      const client = await connectClient();
      try {
        const started = await startLinks(client, loaded, { only: links.length ? links : undefined });
        if (opts.json) return printJson({ running: started.map(linkWorkflowId) });
        process.stdout.write(`running: ${started.map(linkWorkflowId).join(', ') || '(no enabled link)'}\n`);
      } finally {
        await client.connection.close();
      }
    });

  sync
    .command('run <link>')
    .description('run one link in this process until it has caught up, with a progress bar')
    .option(...configOption())
    .option('--once', 'stop once caught up (default)', true)
    .option(...jsonOption)
    .action(async (linkId: string, opts: { config: string; json?: boolean }) => {
      const loaded = loadNetwork(opts.config);
      loaded.link(linkId);
      const engine = await openEngine(loaded);
      const bar = new cliProgress.SingleBar({ format: `${linkId} |{bar}| {read} read · {created} created · {updated} updated · {unchanged} unchanged · {failed} failed`, hideCursor: true }, cliProgress.Presets.shades_classic);
      const totals = { read: 0, created: 0, updated: 0, unchanged: 0, failed: 0, skipped: 0 };
      try {
        const rt = await engine.link(linkId);
        // On a change stream the link reads the stream's log: bring the stream to the present first.
        if (rt.stream) while (!(await pumpStream(engine, rt.stream.id)).caughtUp);
        if (!opts.json) bar.start(1, 0, totals);
        for (let pages = 1; ; pages++) {
          const r = (await backfillMappingPage(rt)) ?? (await syncChangesPage(rt));
          for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += r.counts[k] ?? 0;
          bar.setTotal(r.caughtUp ? pages : pages + 1);
          bar.update(pages, totals);
          if (r.caughtUp) break;
        }
        for (let d = await syncDeletionsPage(rt); !d.caughtUp; d = await syncDeletionsPage(rt));
        await replayDeadLetters(rt, { codes: ['PARENT_NOT_SYNCED'] });
        bar.stop();
        if (opts.json) return printJson({ link: linkId, caughtUp: true, counts: totals });
        process.stdout.write(`${linkId}: caught up — ${JSON.stringify(totals)}\n`);
      } finally {
        bar.stop();
        await engine.close();
      }
    });

  const signal = (name: string, description: string, send: (h: ReturnType<Awaited<ReturnType<typeof connectClient>>['workflow']['getHandle']>) => Promise<unknown>) =>
    sync
      .command(`${name} <link>`)
      .description(description)
      .option(...jsonOption)
      .action(async (linkId: string, opts: { json?: boolean }) => {
        const client = await connectClient();
        try {
          const result = await send(linkHandle(client, linkId)).catch((e: unknown) => unknownLink(client, linkId, e));
          if (opts.json) return printJson({ link: linkId, workflowId: linkWorkflowId(linkId), sent: name, ...(result ? { result } : {}) });
          process.stdout.write(`${name}: ${linkWorkflowId(linkId)}${result ? ` → ${JSON.stringify(result)}` : ''}\n`);
        } finally {
          await client.connection.close();
        }
      });
  signal('pause', 'pause a link (its workflow keeps running and resumes where it stopped)', (h) => h.signal(pauseSignal));
  signal('resume', 'resume a paused link', (h) => h.signal(resumeSignal));
  signal('now', 'look for changes now instead of waiting for the schedule', (h) => h.signal(syncNowSignal));
  sync
    .command('resync <link>')
    .description('re-read the source and re-apply the mapping to existing records (back-fill)')
    .option('--from <time>', 'ISO time to re-read from (default: everything)')
    .option(...jsonOption)
    .action(async (linkId: string, opts: { from?: string; json?: boolean }) => {
      const from = opts.from ?? 'full';
      // Checked here first (the link workflow's update validator checks it again for any other client).
      const problem = resyncFromProblem(from);
      if (problem) throw new CosellError('COSELL_INPUT_INVALID', problem);
      const client = await connectClient();
      try {
        const status = await linkHandle(client, linkId).executeUpdate(resyncUpdate, { args: [{ from }] }).catch((e: unknown) => unknownLink(client, linkId, e));
        if (opts.json) return printJson({ link: linkId, resync: { from }, status });
        process.stdout.write(`resync of ${linkId} from ${opts.from ?? 'the beginning'} started (state ${status.state})\n`);
      } catch (e) {
        if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure) {
          throw new CosellError(e.cause.type === 'COSELL_INPUT_INVALID' ? 'COSELL_INPUT_INVALID' : 'COSELL_UNKNOWN', `resync of ${linkId} refused: ${e.cause.message}`);
        }
        throw e;
      } finally {
        await client.connection.close();
      }
    });

  const dl = program.command('deadletters').description('records the target rejected, with the reason; replay them after fixing the mapping');
  dl.command('list <link>')
    .description("a link's dead letters (pending ones by default), oldest first")
    .option(...configOption())
    .option('--all', 'include replayed and resolved ones')
    .option(...limitOption)
    .option(...jsonOption)
    .action(async (linkId: string, opts: { config: string; all?: boolean; json?: boolean; limit: string }) => {
      const limit = wholeNumber(opts.limit, '--limit');
      const loaded = loadNetwork(opts.config);
      loaded.link(linkId);
      const engine = await openEngine(loaded);
      try {
        // One more than asked: tells "exactly --limit" from "more than --limit" without a count query.
        const found = await engine.ledger.deadLetters.list({ linkId, status: opts.all ? undefined : 'pending', limit: limit + 1 });
        const rows = found.slice(0, limit);
        if (opts.json) return printJson(rows);
        if (rows.length === 0) return void process.stdout.write(`no ${opts.all ? '' : 'pending '}dead letters on ${linkId}\n`);
        process.stdout.write(formatTable(rows.map((d) => ({ id: d.id, source: d.sourceId, status: d.status, code: d.code ?? '', fields: d.fields.join(','), reason: d.reason, attempts: d.attempts }))));
        process.stdout.write(found.length > limit ? `first ${limit} shown; more with --limit\n` : `${rows.length} dead letter${rows.length === 1 ? '' : 's'}\n`);
      } finally {
        await engine.close();
      }
    });
  dl.command('replay <link> [ids...]')
    .description('re-read the records from the source and push them again with the current mapping (all pending ones, these ids, or one CRM code)')
    .option(...configOption())
    .option('--code <code>', 'only the pending dead letters with this CRM error code (`none`: those without one)')
    .option(...jsonOption)
    .action(async (linkId: string, ids: string[], opts: { config: string; code?: string; json?: boolean }) => {
      const numbers = ids.map((id) => wholeNumber(id, 'a dead letter id'));
      const loaded = loadNetwork(opts.config);
      loaded.link(linkId);
      const engine = await openEngine(loaded);
      try {
        const r = await replayLinkDeadLetters(engine, linkId, { ids: numbers.length ? numbers : undefined, ...(opts.code !== undefined ? { code: opts.code === 'none' ? null : opts.code } : {}) });
        if (opts.json) return printJson({ link: linkId, counts: r.counts });
        process.stdout.write(`replayed on ${linkId}: ${JSON.stringify(r.counts)}\n`);
      } finally {
        await engine.close();
      }
    });
}

/**
 * A signal or update to a link whose workflow does not exist: COSELL_LINK_UNKNOWN naming the running
 * links (with a "did you mean"), instead of the SDK's "workflow not found".
 */
async function unknownLink(client: Client, linkId: string, e: unknown): Promise<never> {
  if (!(e instanceof WorkflowNotFoundError)) throw e;
  const running = (await linkStatuses(client).catch(() => [])).map((r) => r.workflowId.replace(/^sync:/, ''));
  throw new CosellError('COSELL_LINK_UNKNOWN', `no running link "${linkId}" (workflow ${linkWorkflowId(linkId)} not found)`, {
    hint: running.length ? suggestionHint(linkId, running) : 'no link is running: start them with `cosell sync start` (or `cosell up`)',
  });
}

/** Who holds each CDC lease, from the ledger the network file names; none when there is no ledger to read. */
async function cdcLeases(config: string): Promise<StoredLease[]> {
  if (!existsSync(config) && !process.env.DATABASE_URL && !existsSync(DEFAULT_LEDGER_FILE)) return [];
  try {
    const ledger = await openLedgerOf(config);
    try {
      return await ledger.cdcLeases.list();
    } finally {
      await ledger.close();
    }
  } catch {
    return []; // status is about the workflows; a ledger it cannot read only leaves the column empty
  }
}
