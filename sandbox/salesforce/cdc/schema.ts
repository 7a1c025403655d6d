import crypto from 'node:crypto';
import avro from 'avsc';
import type { FieldDef, ObjectDef } from '../schema.js';

/**
 * The Avro schema of an object's change event, shaped like Salesforce's: a record
 * `com.sforce.eventbus.<Object>ChangeEvent` whose first field is `ChangeEventHeader`, then every
 * field of the object as an optional (`["null", T]`, default null) value. Field-name lists in the
 * header (changedFields, nulledFields, diffFields) are hex bitmaps over these field positions, as the
 * Pub/Sub API sends them (the client decodes them back into names). The schema id is a fingerprint of
 * the JSON, so it changes when a custom field is added and old ids stay resolvable.
 */

export const CHANGE_TYPES = ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

const HEADER = {
  type: 'record',
  name: 'ChangeEventHeader',
  namespace: 'com.sforce.eventbus',
  fields: [
    { name: 'entityName', type: 'string' },
    { name: 'recordIds', type: { type: 'array', items: 'string' } },
    { name: 'changeType', type: { type: 'enum', name: 'ChangeType', namespace: 'com.sforce.eventbus', symbols: [...CHANGE_TYPES] } },
    { name: 'changeOrigin', type: 'string' },
    { name: 'transactionKey', type: 'string' },
    { name: 'sequenceNumber', type: 'int' },
    { name: 'commitTimestamp', type: 'long' },
    { name: 'commitNumber', type: 'long' },
    { name: 'commitUser', type: 'string' },
    { name: 'nulledFields', type: { type: 'array', items: 'string' } },
    { name: 'diffFields', type: { type: 'array', items: 'string' } },
    { name: 'changedFields', type: { type: 'array', items: 'string' } },
  ],
};

/** Fields a change event never carries (the header says which record; IsDeleted is the change type). */
const NOT_IN_EVENTS = new Set(['id', 'isdeleted', 'systemmodstamp']);

function avroType(f: FieldDef): unknown {
  switch (f.type) {
    case 'boolean':
      return 'boolean';
    case 'int':
      return 'int';
    case 'double':
    case 'currency':
    case 'percent':
      return 'double';
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'datetime':
      return { type: 'long', logicalType: 'timestamp-millis' };
    default:
      return 'string';
  }
}

export interface EventSchema {
  id: string;
  json: string;
  type: avro.Type;
  /** Object field names in schema order (position i + 1 in the record; 0 is the header). */
  fields: FieldDef[];
}

/** The topic name of an object's change events: /data/OpportunityChangeEvent, /data/Thing__ChangeEvent. */
export function topicOf(objectName: string): string {
  return `/data/${objectName.endsWith('__c') ? `${objectName.slice(0, -1)}` : objectName}ChangeEvent`;
}

export function buildEventSchema(o: ObjectDef): EventSchema {
  const fields = o.order.map((n) => o.fields.get(n.toLowerCase())!).filter((f) => !NOT_IN_EVENTS.has(f.name.toLowerCase()));
  const eventName = topicOf(o.name).slice('/data/'.length);
  const schema = {
    type: 'record',
    name: eventName,
    namespace: 'com.sforce.eventbus',
    doc: `Change event of ${o.name} (cosell sandbox)`,
    fields: [
      { name: 'ChangeEventHeader', type: HEADER, doc: 'Data:ChangeEventHeader' },
      ...fields.map((f) => ({ name: f.name, type: ['null', avroType(f)], default: null })),
    ],
  };
  const json = JSON.stringify(schema);
  const id = crypto.createHash('sha256').update(json).digest('base64url').slice(0, 22);
  return { id, json, type: avro.Type.forSchema(schema as avro.Schema), fields };
}

/** A field-name list as the Pub/Sub API encodes it: one hex bitmap, bit i = field position i. */
export function fieldBitmap(schema: EventSchema, names: Iterable<string>): string[] {
  let bits = 0n;
  let any = false;
  const pos = new Map(schema.fields.map((f, i) => [f.name.toLowerCase(), i + 1]));
  for (const n of names) {
    const p = pos.get(n.toLowerCase());
    if (p === undefined) continue;
    bits |= 1n << BigInt(p);
    any = true;
  }
  // The client's decoder reads upper-case hex digits only.
  return any ? [`0x${bits.toString(16).toUpperCase()}`] : [];
}

const DAY = 86_400_000;

/** A stored field value as the Avro field carries it (dates as days since the epoch, datetimes as epoch ms). */
export function eventValue(f: FieldDef, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (f.type) {
    case 'boolean':
      return Boolean(v);
    case 'int':
      return Math.trunc(Number(v));
    case 'double':
    case 'currency':
    case 'percent':
      return Number(v);
    case 'date':
      return Math.round(Date.parse(`${String(v)}T00:00:00Z`) / DAY);
    case 'datetime':
      return typeof v === 'number' ? v : Date.parse(String(v));
    default:
      return String(v);
  }
}
