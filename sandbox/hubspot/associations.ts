import type { ObjectTypeName } from './meta.js';

/**
 * Associations (v4 model): between two records there may be several association types (unlabelled,
 * "Primary", user-defined labels). Every association is stored in both directions with the inverse
 * type id, as HubSpot does (deal→company 341 ⇄ company→deal 342; primary 5 ⇄ 6).
 */
export type AssocCategory = 'HUBSPOT_DEFINED' | 'USER_DEFINED' | 'INTEGRATOR_DEFINED';

export interface AssocType {
  from: ObjectTypeName;
  to: ObjectTypeName;
  typeId: number;
  category: AssocCategory;
  label: string | null;
  inverse: number;
  /** The v3 `associations` name (`deal_to_company`, `deal_to_company_unlabeled`). */
  v3Name: string;
}

function pair(from: ObjectTypeName, to: ObjectTypeName, fromSing: string, toSing: string, unlabelled: [number, number], primary?: [number, number]): AssocType[] {
  const out: AssocType[] = [
    { from, to, typeId: unlabelled[0], category: 'HUBSPOT_DEFINED', label: null, inverse: unlabelled[1], v3Name: `${fromSing}_to_${toSing}${primary ? '_unlabeled' : ''}` },
    { from: to, to: from, typeId: unlabelled[1], category: 'HUBSPOT_DEFINED', label: null, inverse: unlabelled[0], v3Name: `${toSing}_to_${fromSing}${primary ? '_unlabeled' : ''}` },
  ];
  if (primary) {
    out.push(
      { from, to, typeId: primary[0], category: 'HUBSPOT_DEFINED', label: 'Primary', inverse: primary[1], v3Name: `${fromSing}_to_${toSing}` },
      { from: to, to: from, typeId: primary[1], category: 'HUBSPOT_DEFINED', label: 'Primary', inverse: primary[0], v3Name: `${toSing}_to_${fromSing}` },
    );
  }
  return out;
}

export const BUILT_IN_ASSOC_TYPES: AssocType[] = [
  ...pair('deals', 'companies', 'deal', 'company', [341, 342], [5, 6]),
  ...pair('contacts', 'companies', 'contact', 'company', [279, 280], [1, 2]),
  ...pair('deals', 'contacts', 'deal', 'contact', [3, 4]),
];

const OBJECT_NAMES: ObjectTypeName[] = ['contacts', 'companies', 'deals'];

/** One directed association change (webhooks' associationChange events): which pair, and whether it is gone. */
export interface AssociationChange {
  from: ObjectTypeName;
  fromId: string;
  to: ObjectTypeName;
  toId: string;
  /** The type ids present after the change (empty when the association was removed). */
  typeIds: number[];
  removed: boolean;
}

export class AssociationStore {
  /** Told of every change made through add/remove/moveAll (not of bulk loads); the portal's webhooks listen. */
  onChange: ((c: AssociationChange) => void) | undefined;
  private readonly types: AssocType[] = [...BUILT_IN_ASSOC_TYPES];
  /** `from|fromId|to|toId` → type ids (both directions stored). Flat maps keep 100k+ links cheap. */
  private readonly pairs = new Map<string, number[]>();
  /** `from|fromId|to` → target ids, in insertion order. */
  private readonly adj = new Map<string, string[]>();
  private nextUserType = 1000;

  // ---------- type definitions ----------

  typesBetween(from: ObjectTypeName, to: ObjectTypeName): AssocType[] {
    return this.types.filter((t) => t.from === from && t.to === to);
  }

  type(from: ObjectTypeName, to: ObjectTypeName, typeId: number): AssocType | undefined {
    return this.types.find((t) => t.from === from && t.to === to && t.typeId === typeId);
  }

  /** The unlabelled type HubSpot uses for "default" associations between two object types. */
  defaultType(from: ObjectTypeName, to: ObjectTypeName): AssocType | undefined {
    return this.types.find((t) => t.from === from && t.to === to && t.category === 'HUBSPOT_DEFINED' && t.label === null);
  }

  /** Create a user-defined label (and its inverse); returns both types. */
  createLabel(from: ObjectTypeName, to: ObjectTypeName, label: string, inverseLabel?: string): AssocType[] {
    const a = this.nextUserType++;
    const b = from === to && !inverseLabel ? a : this.nextUserType++;
    const name = label.toLowerCase().replace(/[^a-z0-9]+/g, '_');
    const t1: AssocType = { from, to, typeId: a, category: 'USER_DEFINED', label, inverse: b, v3Name: name };
    const out = [t1];
    this.types.push(t1);
    if (b !== a) {
      const t2: AssocType = { from: to, to: from, typeId: b, category: 'USER_DEFINED', label: inverseLabel ?? label, inverse: a, v3Name: name };
      this.types.push(t2);
      out.push(t2);
    }
    return out;
  }

  userTypes(): AssocType[] {
    return this.types.filter((t) => t.category !== 'HUBSPOT_DEFINED');
  }

  // ---------- links ----------

  /** Add association types between two records (both directions). Returns the type ids now present from→to. */
  add(from: ObjectTypeName, fromId: string, to: ObjectTypeName, toId: string, typeIds: number[]): number[] {
    const inverse: number[] = [];
    for (const id of typeIds) {
      const inv = this.type(from, to, id)?.inverse;
      if (inv !== undefined) inverse.push(inv);
    }
    this.addDirected(to, toId, from, fromId, inverse);
    return this.addDirected(from, fromId, to, toId, typeIds);
  }

  private addDirected(from: ObjectTypeName, fromId: string, to: ObjectTypeName, toId: string, typeIds: number[]): number[] {
    const k = `${from}|${fromId}|${to}|${toId}`;
    let ids = this.pairs.get(k);
    if (!ids) {
      this.pairs.set(k, (ids = []));
      const a = `${from}|${fromId}|${to}`;
      const list = this.adj.get(a);
      if (list) list.push(toId);
      else this.adj.set(a, [toId]);
    }
    const before = ids.length;
    for (const id of typeIds) if (!ids.includes(id)) ids.push(id);
    if (ids.length !== before) this.onChange?.({ from, fromId, to, toId, typeIds: [...ids], removed: false });
    return [...ids];
  }

  /** Remove some (or, without typeIds, all) association types between two records, both directions. */
  remove(from: ObjectTypeName, fromId: string, to: ObjectTypeName, toId: string, typeIds?: number[]): void {
    const inverse = typeIds?.map((id) => this.type(from, to, id)?.inverse).filter((x): x is number => x !== undefined);
    this.removeDirected(from, fromId, to, toId, typeIds);
    this.removeDirected(to, toId, from, fromId, inverse);
  }

  private removeDirected(from: ObjectTypeName, fromId: string, to: ObjectTypeName, toId: string, typeIds?: number[]): void {
    const k = `${from}|${fromId}|${to}|${toId}`;
    const ids = this.pairs.get(k);
    if (!ids) return;
    const keep = typeIds ? ids.filter((id) => !typeIds.includes(id)) : [];
    if (keep.length > 0) {
      this.pairs.set(k, keep);
      if (keep.length !== ids.length) this.onChange?.({ from, fromId, to, toId, typeIds: [...keep], removed: false });
      return;
    }
    this.pairs.delete(k);
    this.onChange?.({ from, fromId, to, toId, typeIds: [], removed: true });
    const a = `${from}|${fromId}|${to}`;
    const list = this.adj.get(a);
    if (!list) return;
    const i = list.indexOf(toId);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.adj.delete(a);
  }

  /** Associations of one record to one object type, ordered by target id. */
  list(from: ObjectTypeName, fromId: string, to: ObjectTypeName): Array<{ toId: string; typeIds: number[] }> {
    const list = this.adj.get(`${from}|${fromId}|${to}`);
    if (!list) return [];
    return list
      .map((toId) => ({ toId, typeIds: [...(this.pairs.get(`${from}|${fromId}|${to}|${toId}`) ?? [])].sort((a, b) => a - b) }))
      .sort((a, b) => Number(a.toId) - Number(b.toId));
  }

  /** Move every association of `fromId` onto `intoId` (merge). */
  moveAll(type: ObjectTypeName, fromId: string, intoId: string): void {
    for (const to of OBJECT_NAMES) {
      for (const { toId, typeIds } of this.list(type, fromId, to)) {
        this.remove(type, fromId, to, toId);
        if (!(to === type && toId === intoId)) this.add(type, intoId, to, toId, typeIds);
      }
    }
  }

  clear(): void {
    this.pairs.clear();
    this.adj.clear();
    this.types.splice(BUILT_IN_ASSOC_TYPES.length);
    this.nextUserType = 1000;
  }

  /** Every directed link, for snapshots. */
  dump(): Array<[ObjectTypeName, string, ObjectTypeName, string, number[]]> {
    const out: Array<[ObjectTypeName, string, ObjectTypeName, string, number[]]> = [];
    for (const [k, ids] of this.pairs) {
      const [from, fromId, to, toId] = k.split('|') as [ObjectTypeName, string, ObjectTypeName, string];
      out.push([from, fromId, to, toId, [...ids]]);
    }
    return out;
  }

  /** Restore directed links verbatim (both directions are in the dump). */
  load(entries: Array<[ObjectTypeName, string, ObjectTypeName, string, number[]]>, userTypes: AssocType[] = []): void {
    this.clear();
    for (const t of userTypes) {
      this.types.push(t);
      this.nextUserType = Math.max(this.nextUserType, t.typeId + 1);
    }
    const listener = this.onChange;
    this.onChange = undefined; // a restore is not a change anyone made
    try {
      for (const [from, fromId, to, toId, ids] of entries) this.addDirected(from, fromId, to, toId, ids);
    } finally {
      this.onChange = listener;
    }
  }
}
