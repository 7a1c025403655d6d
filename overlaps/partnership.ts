import type { CrmKind } from '../connectors/types.js';
import type { LoadedNetwork } from '../lib/config.js';
import { suggestionHint } from '../lib/suggest.js';
import { CosellError } from '../lib/errors.js';
import type { SecretRef } from '../lib/secrets.js';
import type { Population, Sharing } from './types.js';

/**
 * One partnership's account-mapping settings, from the partner's `sharing` block in cosell.yaml:
 *
 *   partners:
 *     - id: acme
 *       sharing:
 *         vendor: [customers, opportunities]   # what the vendor lets acme see
 *         partner: [customers, prospects]      # what acme lets the vendor see
 *         secret: env:COSELL_OVERLAP_SECRET_ACME   # HMAC key for this partnership only
 *         every: 1h                            # how often overlap:acme runs (default 1h)
 */
export interface Partnership {
  partnerId: string;
  vendor: { orgId: string; kind: CrmKind };
  partner: { orgId: string; kind: CrmKind };
  sharing: Sharing;
  secret: SecretRef;
  everyMs: number;
}

export const DEFAULT_OVERLAP_INTERVAL_MS = 3_600_000;

export function partnershipOf(network: LoadedNetwork, partnerId: string): Partnership {
  const partner = network.partner(partnerId);
  if (!partner) {
    throw new CosellError('COSELL_CONFIG_INVALID', `${network.file}: no partner "${partnerId}"`, {
      hint: suggestionHint(partnerId, network.network.partners.map((p) => p.id)),
    });
  }
  if (!partner.sharing) {
    throw new CosellError('COSELL_CONFIG_INVALID', `${network.file}: partner "${partnerId}" has no sharing block, so account mapping is off for it`, {
      hint: 'add `sharing: { vendor: [customers], partner: [customers], secret: env:COSELL_OVERLAP_SECRET_' + partnerId.toUpperCase().replace(/-/g, '_') + ' }` to the partner',
    });
  }
  const vendor = network.network.vendor;
  return {
    partnerId,
    vendor: { orgId: vendor.id, kind: vendor.kind },
    partner: { orgId: partner.id, kind: partner.kind },
    sharing: { vendor: partner.sharing.vendor as Population[], partner: partner.sharing.partner as Population[] },
    secret: partner.sharing.secret,
    everyMs: partner.sharing.every ? parseEvery(partner.sharing.every, network.file) : DEFAULT_OVERLAP_INTERVAL_MS,
  };
}

/** Partners with a sharing block: the ones that get an `overlap:<partner>` workflow. */
export function sharingPartners(network: LoadedNetwork): string[] {
  return network.network.partners.filter((p) => p.sharing).map((p) => p.id);
}

function parseEvery(every: string, file: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(every);
  if (!m) throw new CosellError('COSELL_CONFIG_INVALID', `${file}: sharing.every "${every}" is not a duration`, { hint: 'write it like 15m, 1h or 1d' });
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}
