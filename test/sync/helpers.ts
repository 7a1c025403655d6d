import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

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

