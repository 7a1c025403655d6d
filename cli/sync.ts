import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { connectClient } from '../lib/client.js';
import { loadNetwork } from '../lib/config.js';
import { CosellError } from '../lib/errors.js';
import { linkStatuses, linkWorkflowId, startLinks } from '../lib/links.js';
import { streamStatuses } from '../lib/streams.js';
import { pumpStream } from '../sync/stream.js';
import { openEngine } from '../lib/engine.js';
import { backfillMappingPage } from '../sync/mappingChange.js';
import { replayDeadLetters, syncChangesPage, syncDeletionsPage } from '../sync/page.js';
import { replayLinkDeadLetters } from '../lib/deadLetterReplay.js';
import { resyncFromProblem } from '../sync/resync.js';
import { pauseSignal, resumeSignal, resyncUpdate, syncNowSignal } from '../workflows/sync.js';

export const configOption = ['-c, --config <file>', 'network file', process.env.COSELL_CONFIG ?? 'cosell.yaml'] as const;

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
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const client = await connectClient();
      try {
        const rows = await linkStatuses(client);
        const streams = await streamStatuses(client);
        if (opts.json) return void process.stdout.write(JSON.stringify(streams.length ? { links: rows, streams } : rows) + '\n');
        if (streams.length) {
          process.stdout.write('change streams\n');
          console.table(
            streams.map((r) => ({
              stream: r.workflowId.replace(/^stream:/, ''),
              mode: r.status?.mode ?? 'unknown',
              state: r.status?.state ?? 'unknown',
              position: r.status?.head ?? '-',
              lag: fmtLag(r.status?.lagMs),
              'last poll': r.status?.lastPollAt ?? '-',
              'last event': r.status?.lastEventAt ?? '-',
              reconciler: r.status?.reconciled ? `${r.status.reconciled.polled} read, ${r.status.reconciled.missed} missed by push` : '-',
              consumers: r.status?.consumers.length ?? 0,
              'last error': r.status?.lastError ?? r.error ?? '',
            })),
          );
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
          failed: r.status?.counts.failed ?? 0,
          deleted: r.status?.counts.deleted ?? 0,
          'last error': r.status?.lastError ?? r.error ?? '',
        }));
        console.table(table);
      } finally {
        await client.connection.close();
      }
    });

  const sync = program.command('sync').description('run and steer links');

  sync
    .command('start [links...]')
    .description('start the link workflows (all enabled links by default); idempotent')
    .option(...configOption)
    .action(async (links: string[], opts: { config: string }) => {
      const loaded = loadNetwork(opts.config);
      const client = await connectClient();
      try {
        const started = await startLinks(client, loaded, { only: links.length ? links : undefined });
        process.stdout.write(`running: ${started.map(linkWorkflowId).join(', ')}\n`);
      } finally {
        await client.connection.close();
      }
    });

  sync
    .command('run <link>')
    .description('run one link in this process until it has caught up, with a progress bar')
    .option(...configOption)
    .option('--once', 'stop once caught up (default)', true)
    .action(async (linkId: string, opts: { config: string }) => {
      const engine = await openEngine(loadNetwork(opts.config));
      const bar = new cliProgress.SingleBar({ format: `${linkId} |{bar}| {read} read · {created} created · {updated} updated · {unchanged} unchanged · {failed} failed`, hideCursor: true }, cliProgress.Presets.shades_classic);
      const totals = { read: 0, created: 0, updated: 0, unchanged: 0, failed: 0, skipped: 0 };
      try {
        const rt = await engine.link(linkId);
        // On a change stream the link reads the stream's log: bring the stream to the present first.
        if (rt.stream) while (!(await pumpStream(engine, rt.stream.id)).caughtUp);
        bar.start(1, 0, totals);
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
      .action(async (linkId: string) => {
        const client = await connectClient();
        try {
          const result = await send(client.workflow.getHandle(linkWorkflowId(linkId)));
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
    .action(async (linkId: string, opts: { from?: string }) => {
      const from = opts.from ?? 'full';
      // Checked here first (the link workflow's update validator checks it again for any other client).
      const problem = resyncFromProblem(from);
      if (problem) throw new CosellError('COSELL_INPUT_INVALID', problem);
      const client = await connectClient();
      try {
        const status = await client.workflow.getHandle(linkWorkflowId(linkId)).executeUpdate(resyncUpdate, { args: [{ from }] });
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
    .option(...configOption)
    .option('--all', 'include replayed and resolved ones')
    .option('--json', 'machine-readable output')
    .action(async (linkId: string, opts: { config: string; all?: boolean; json?: boolean }) => {
      const engine = await openEngine(loadNetwork(opts.config));
      try {
        const rows = await engine.ledger.deadLetters.list({ linkId, status: opts.all ? undefined : 'pending', limit: 1000 });
        if (opts.json) return void process.stdout.write(JSON.stringify(rows) + '\n');
        if (rows.length === 0) return void process.stdout.write(`no ${opts.all ? '' : 'pending '}dead letters on ${linkId}\n`);
        console.table(rows.map((d) => ({ id: d.id, source: d.sourceId, status: d.status, code: d.code ?? '', fields: d.fields.join(','), reason: d.reason.slice(0, 80), attempts: d.attempts })));
      } finally {
        await engine.close();
      }
    });
  dl.command('replay <link> [ids...]')
    .description('re-read the records from the source and push them again with the current mapping (all pending ones, these ids, or one CRM code)')
    .option(...configOption)
    .option('--code <code>', 'only the pending dead letters with this CRM error code (`none`: those without one)')
    .action(async (linkId: string, ids: string[], opts: { config: string; code?: string }) => {
      const engine = await openEngine(loadNetwork(opts.config));
      try {
        const r = await replayLinkDeadLetters(engine, linkId, { ids: ids.length ? ids.map(Number) : undefined, ...(opts.code !== undefined ? { code: opts.code === 'none' ? null : opts.code } : {}) });
        process.stdout.write(`replayed on ${linkId}: ${JSON.stringify(r.counts)}\n`);
      } finally {
        await engine.close();
      }
    });
}
