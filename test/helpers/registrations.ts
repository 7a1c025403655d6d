import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadPolicy, type Policy } from '../../rules/index.js';
import { tempDir } from '../sync/helpers.js';

/** A Rules-of-Engagement policy from YAML text written for a test (in a temp dir of its own). */
export function testPolicy(text: string): { policy: Policy; dir: string; file: string } {
  const dir = tempDir('cosell-roe-');
  const file = path.join(dir, 'roe.yaml');
  writeFileSync(file, text);
  return { policy: loadPolicy(file), dir, file };
}
