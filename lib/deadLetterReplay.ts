import type { Engine } from '../sync/build.js';
import { replayDeadLetters } from '../sync/page.js';
import type { PageReport } from '../sync/types.js';
import { CosellError } from './errors.js';

/**
 * Which pending dead letters of a link to replay: these ids, every one of a CRM code (`code: null` —
 * those without one), or all of them.
 */
export interface ReplaySelection {
  ids?: number[];
  code?: string | null;
}

/**
 * The one replay path: `cosell deadletters replay` and the console's replay buttons both call this.
 * Each record is re-read from the source and pushed again with the link's current mapping (sync/page.ts
 * `replayDeadLetters`); what fails again stays a dead letter with its new reason.
 */
export async function replayLinkDeadLetters(engine: Engine, linkId: string, sel: ReplaySelection = {}): Promise<PageReport> {
  if (sel.ids && sel.ids.some((id) => !Number.isSafeInteger(id) || id <= 0)) throw new CosellError('COSELL_INPUT_INVALID', `dead letter ids are positive whole numbers (got ${sel.ids.join(', ')})`);
  const rt = await engine.link(linkId);
  return replayDeadLetters(rt, {
    ids: sel.ids?.length ? sel.ids : undefined,
    ...(sel.code === null ? { withoutCode: true } : sel.code !== undefined ? { codes: [sel.code] } : {}),
  });
}
