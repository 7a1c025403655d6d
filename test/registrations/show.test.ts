import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { main as cosellMain } from '../../cli/main.js';
import type { Ledger } from '../../ledger/index.js';
import { backends, useLedgerStore, type LedgerStore } from '../ledger/backends.js';
import { temporalAddress } from '../helpers/temporal.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `cosell registrations show acme:X` shows acme's registration X only: deal ids are unique inside one
 * CRM, not across partners, so globex's deal X (same id, another portal) and its audit events must not
 * appear (they did: the audit was filtered by source id alone).
 */

async function cli(args: string[], env: Record<string, string | undefined>): Promise<string> {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (c: unknown) => (chunks.push(String(c)), true);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    await cosellMain(['node', 'cosell', ...args]);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    process.exitCode = 0;
  }
  return chunks.join('');
}

const NETWORK_LINKS = `
links:
  - { id: acme-deals, from: acme.deals, to: vendor.Opportunity, mapping: m.yaml, registration: true, pairedWith: vendor-opps-to-acme }
  - { id: vendor-opps-to-acme, from: vendor.Opportunity, to: acme.deals, mapping: m.yaml, pairedWith: acme-deals }
  - { id: globex-deals, from: globex.deals, to: vendor.Opportunity, mapping: m.yaml, registration: true, pairedWith: vendor-opps-to-globex }
  - { id: vendor-opps-to-globex, from: vendor.Opportunity, to: globex.deals, mapping: m.yaml, pairedWith: globex-deals }
`;

async function seed(ledger: Ledger, dealId: string, tag: string): Promise<void> {
  for (const [partner, link, back] of [['acme', 'acme-deals', 'vendor-opps-to-acme'], ['globex', 'globex-deals', 'vendor-opps-to-globex']] as const) {
    await ledger.registrations.upsert({ partner, sourceId: dealId, customerName: `${partner} customer ${tag}`, status: 'rejected', reason: 'r', details: { linkId: link } });
    await ledger.audit.append([
      { linkId: link, sourceId: dealId, action: 'registration.decided', details: { who: `${partner}-${tag}` }, actor: 'rules', eventKey: `t:${tag}:${partner}:decided` },
      { linkId: link, sourceId: dealId, action: 'registration.rejected', details: { who: `${partner}-${tag}` }, actor: 'rules', eventKey: `t:${tag}:${partner}:rejected` },
      // The vendor → partner link writes back onto the partner's deal: target id = the deal id.
      { linkId: back, sourceId: `006${tag}${partner}`, targetId: dealId, action: 'updated', details: { who: `${partner}-${tag}` }, eventKey: `t:${tag}:${partner}:back` },
    ]);
  }
}

for (const backend of backends) {
  describe(`cosell registrations show keeps partners apart (${backend.name})`, () => {
    let store: LedgerStore;
    let ledger: Ledger;
    useLedgerStore(backend, (s, l) => ((store = s), (ledger = l)));

    it("acme:X lists acme's events only, never those of globex:X (same deal id, other portal)", async () => {
      const dir = tempDir('cosell-show-');
      const config = path.join(dir, 'cosell.yaml');
      // SQLite: the network file names the ledger file; PostgreSQL: DATABASE_URL (no ledger entry).
      writeFileSync(config, (store.options.file ? `ledger: { file: ${store.options.file} }\n` : '') + NETWORK_LINKS);
      const env = { TEMPORAL_ADDRESS: temporalAddress(), DATABASE_URL: store.url };
      await fc.assert(
        fc.asyncProperty(fc.stringMatching(/^[0-9]{1,12}$/), fc.uuid(), async (dealId, tag) => {
          await seed(ledger, dealId, tag);
          for (const partner of ['acme', 'globex']) {
            const shown = JSON.parse(await cli(['registrations', 'show', `${partner}:${dealId}`, '-c', config, '--json'], env)) as { registration: { id: string }; audit: Array<{ linkId: string; details: { who: string } }> };
            expect(shown.registration.id).toBe(`${partner}:${dealId}`);
            const mine = shown.audit.filter((a) => a.details.who === `${partner}-${tag}`);
            expect(mine.map((a) => a.linkId).sort()).toEqual([`${partner}-deals`, `${partner}-deals`, `vendor-opps-to-${partner}`]);
            const other = partner === 'acme' ? 'globex' : 'acme';
            expect(shown.audit.filter((a) => a.details.who.startsWith(`${other}-`))).toEqual([]);
          }
        }),
        { numRuns: 4 },
      );
    });
  });
}
