import { listSummaries } from './feed.js';
import type { AceTransport } from './transport.js';

/**
 * PartnerOpportunityIdentifier → opportunity id. ListOpportunities cannot filter on it, so the
 * connector keeps the map itself: one full scan of the catalog's summaries (100 per read) the first
 * time, then only what changed since the last scan (minus a minute of overlap), before every upsert
 * batch — usually one read. Its own creates enter at once.
 */
const OVERLAP_MS = 60_000;

export class KeyIndex {
  private readonly byKey = new Map<string, string>();
  private scannedTo?: number;

  constructor(private readonly t: AceTransport, private readonly catalog: string) {}

  async refresh(): Promise<void> {
    let newest = this.scannedTo ?? 0;
    await listSummaries(this.t, this.catalog, this.scannedTo !== undefined ? this.scannedTo - OVERLAP_MS : undefined, (s) => {
      if (s.PartnerOpportunityIdentifier && s.Id) this.byKey.set(s.PartnerOpportunityIdentifier, s.Id);
      const at = s.LastModifiedDate ? new Date(s.LastModifiedDate).getTime() : 0;
      if (at > newest) newest = at;
      return true;
    });
    // Go on from the newest stamp the service showed (its clock, not ours); nothing seen yet: scan all again.
    if (newest > 0) this.scannedTo = newest;
  }

  get(key: string): string | undefined {
    return this.byKey.get(key);
  }

  set(key: string, id: string): void {
    this.byKey.set(key, id);
  }

  /** Ids of the keys asked for (unknown keys left out), after a refresh. */
  async lookup(keys: string[]): Promise<Map<string, string>> {
    await this.refresh();
    const out = new Map<string, string>();
    for (const k of keys) {
      const id = this.byKey.get(k);
      if (id) out.set(k, id);
    }
    return out;
  }
}
