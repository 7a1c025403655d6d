import type { Connector, Fields, ObjectSchema } from '../connectors/types.js';
import type { LinkConfig, LoadedNetwork, OrgConfig } from '../lib/config.js';
import type { Ledger } from '../ledger/index.js';
import type { CompiledMapping, MappingContext } from '../mappings/types.js';
import type { StreamEntry } from '../ledger/streams.js';
import type { ReadAhead } from './readAhead.js';

/** A decision the registration gate (rules/) takes about one partner record on a registration link. */
export interface GateDecision {
  action: 'write' | 'hold' | 'reject';
  /** Extra target fields to write (partner attribution, registration status and expiry…). */
  fields?: Fields;
  /** Target fields that must not be written now (e.g. protected attribution during exclusivity). */
  protect?: string[];
  decisions?: unknown[];
  reason?: string;
  /** Not decided yet, to be retried after each catch-up: the record is parked under this dead-letter code. */
  park?: string;
}

export interface RecordGate {
  check(records: Array<{ sourceId: string; source: Fields; mapped: Fields }>): Promise<Map<string, GateDecision>>;
  /** Source fields the gate reads beyond the mapping's (read with every record of the link). */
  readonly readFields?: readonly string[];
}

/** Everything one link needs at run time; built once per worker and reused by every page. */
export interface LinkRuntime {
  link: LinkConfig;
  network: LoadedNetwork;
  sourceOrg: OrgConfig;
  targetOrg: OrgConfig;
  sourceObject: string;
  targetObject: string;
  /** The partner on this link (links always have the vendor on one side). */
  partnerId: string;
  source: Connector;
  target: Connector;
  targetSchema: ObjectSchema;
  mapping: CompiledMapping;
  context(): MappingContext;
  ledger: Ledger;
  /** Parent link whose pairs give this link's parent references (accounts before opportunities). */
  parent?: { linkId: string; sourceField: string; targetField?: string; targetObject: string };
  gate?: RecordGate;
  /** Field the `flag` delete policy sets on the target. */
  deletedFlagField: string;
  pageSize: number;
  /**
   * Whether another link writes into this link's source object (a two-way pair): only then are the
   * source records' snapshots read (by that link's echo check), so only then are they stored.
   */
  sourceIsATarget: boolean;
  /**
   * Two-way: the paired link's match, read backwards — it writes its source's `source` field into this
   * link's source records' `target` field (e.g. the vendor Opportunity Id into Partner Central's
   * PartnerOpportunityIdentifier). A record the paired link created is known by that key even before
   * its pair is committed (the pages race, or the paired worker died between its write and its
   * commit), so this link updates its origin instead of creating a second copy of it.
   * Absent when the field is not in this link's source schema.
   */
  pairedMatch?: { source: string; target: string };
  /** The change feed's next page, read while this one is written (see sync/readAhead.ts). */
  readAhead: ReadAhead;
  /**
   * Set when the network's change streams are on: the link reads its source object's stream (its log
   * in the ledger) instead of the CRM's feed, as consumer `consumer` (sync/streamConsumer.ts).
   */
  stream?: { id: string; consumer: string; readAhead: ReadAhead<StreamEntry[]> };
  /** What the link's mapping means, hashed (sync/mappingChange.ts): a change re-applies it to existing pairs. */
  mappingFingerprint?: string;
  /** Another link's runtime from the same engine (a merged parent re-points the children on its child links). */
  linkRuntime?: (linkId: string) => Promise<LinkRuntime>;
}
