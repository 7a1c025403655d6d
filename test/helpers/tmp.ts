import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory under the OS temp dir, named after what it holds (e.g. `cosell-ledger-…`). */
export function tempDir(prefix = 'cosell-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
