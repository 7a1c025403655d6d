import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Engine } from '../../sync/build.js';
import { syncChangesPage, syncDeletionsPage } from '../../sync/page.js';

const STOCK = path.resolve(new URL('../../mappings/stock', import.meta.url).pathname);

/**
 * Copy a stock mapping into `dir`, with its schema snapshots still resolving, and apply text edits
 * (e.g. a filter that would hide the test's records, or a fix for a dead-lettered field).
 */
export function copyStockMapping(dir: string, name: string, edits: Array<[string | RegExp, string]> = [], as = name): string {
  let text = readFileSync(path.join(STOCK, name), 'utf8').replaceAll('../schemas/', `${path.resolve(STOCK, '../schemas')}/`);
  for (const [from, to] of edits) {
    const before = text;
    text = text.replace(from, to);
    if (text === before) throw new Error(`edit ${String(from)} did not apply to ${name}`);
  }
  const file = path.join(dir, as);
  writeFileSync(file, text);
  return file;
}

export function tempDir(prefix = 'cosell-sync-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export type Totals = Record<string, number>;

/** Run a link's change feed until caught up (and its deletion feed, when asked), summing the counts. */
export async function drain(engine: Engine, linkId: string, opts: { deletions?: boolean } = {}): Promise<Totals> {
  const rt = await engine.link(linkId);
  const totals: Totals = {};
  const add = (c: Record<string, number | undefined>) => {
    for (const [k, v] of Object.entries(c)) totals[k] = (totals[k] ?? 0) + (v ?? 0);
  };
  for (let i = 0; ; i++) {
    if (i > 200) throw new Error(`${linkId} did not catch up`);
    const r = await syncChangesPage(rt);
    add(r.counts);
    if (r.caughtUp) break;
  }
  if (opts.deletions) {
    for (let i = 0; ; i++) {
      if (i > 200) throw new Error(`${linkId} deletions did not catch up`);
      const r = await syncDeletionsPage(rt);
      add(r.counts);
      if (r.caughtUp) break;
    }
  }
  return totals;
}
