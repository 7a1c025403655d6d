import { SandboxClock } from '../clock.js';
import { FaultInjector } from '../faults.js';
import type { FaultConfig, OrgConfig } from '../types.js';
import { AssociationStore } from './associations.js';
import { TokenStore, defaultCredentials, deterministicHex } from './auth.js';
import { errorBody, propertyProblem, propertyValidationBody, type HubspotErrorBody, type PropertyProblem } from './errors.js';
import { RateLimiter } from './limits.js';
import { OBJECT_TYPES, alwaysReturned, type ObjectTypeMeta, type ObjectTypeName } from './meta.js';
import { isLost, isWon, pipelinesFromSchema, type PipelineDef } from './pipelines.js';
import { builtInProperties, defaultGroupName, normaliseValue, parseInstant, type PropertyDef, type PropertyType } from './properties.js';
import { ObjectStore, type HsRecord } from './store.js';
import type { PortalChange } from './webhooks.js';

/**
 * One emulated HubSpot portal: data, schema, tokens, limits and faults, with the write rules of a real
 * portal (validation against property definitions, unique values, server-maintained properties,
 * derived deal flags). HTTP routes are thin adapters over this class.
 */
export interface Owner {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  userId: number;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface AssociationInput {
  to?: { id?: string | number };
  types?: Array<{ associationCategory?: string; associationTypeId?: number }>;
}

export interface WriteInput {
  properties?: Record<string, unknown>;
  associations?: AssociationInput[];
  objectWriteTraceId?: string;
}

/** Why one input of a write was refused: the HTTP status a single write would get, and the body. */
export interface InputFailure {
  statusCode: number;
  body: HubspotErrorBody;
}

/** A validated create, ready to commit. */
export interface PreparedCreate {
  props: Record<string, string>;
  links: Array<{ to: ObjectTypeName; toId: string; typeIds: number[] }>;
}

export interface SearchLimits {
  maxGroups: number;
  maxFiltersPerGroup: number;
  maxTotalFilters: number;
}

export const iso = (ms: number) => new Date(ms).toISOString();

export class HubspotPortal {
  readonly id: string;
  readonly name: string;
  readonly portalId: number;
  readonly clock = new SandboxClock();
  readonly faults: FaultInjector;
  readonly limiter: RateLimiter;
  readonly tokens: TokenStore;
  readonly assoc = new AssociationStore();
  readonly props = {} as Record<ObjectTypeName, Map<string, PropertyDef>>;
  readonly stores = {} as Record<ObjectTypeName, ObjectStore>;
  pipelines: PipelineDef[];
  owners: Owner[] = [];
  searchLimits: SearchLimits = { maxGroups: 5, maxFiltersPerGroup: 6, maxTotalFilters: 18 };
  private clockFrozen = false;
  /** Told of every committed change (creations, property changes, deletions, merges, restores, associations). */
  private readonly changeListeners = new Set<(c: PortalChange) => void>();

  constructor(readonly config: OrgConfig) {
    this.id = config.id;
    this.name = config.name ?? config.id;
    this.portalId = 10_000_000 + (parseInt(deterministicHex(`portal:${config.id}`, 8), 16) % 89_999_999);
    this.faults = new FaultInjector(config.faults ?? {});
    this.limiter = new RateLimiter(() => this.faults.get());
    this.tokens = new TokenStore(defaultCredentials(config.id, config.credentials));
    const schema = (config.schema ?? {}) as Record<string, any>;
    this.pipelines = pipelinesFromSchema(schema.pipelines);
    if (schema.search) this.searchLimits = { ...this.searchLimits, ...schema.search };
    for (const meta of Object.values(OBJECT_TYPES)) {
      const defs = new Map(builtInProperties(meta.name).map((p) => [p.name, p]));
      this.props[meta.name] = defs;
      this.stores[meta.name] = new ObjectStore({ ...meta, idBase: meta.idBase + (config.idOffset ?? 0) }, () => this.faults.searchLagMs, [...defs.values()].filter((p) => p.hasUniqueValue).map((p) => p.name));
    }
    this.assoc.onChange = (c) => {
      if (this.changeListeners.size === 0) return;
      this.emit({ kind: 'associationChange', object: c.from, id: c.fromId, at: this.now(), to: c.to, toId: c.toId, typeIds: c.typeIds, removed: c.removed });
    };
    // Extra properties from the org's config: `schema.properties: {companies: [PropertyCreate...], deals: [...]}`.
    const extra = (schema.properties ?? {}) as Record<string, unknown>;
    for (const [type, list] of Object.entries(extra)) {
      const meta = Object.values(OBJECT_TYPES).find((m) => m.name === type || m.singular === type || m.typeId === type);
      if (!meta || !Array.isArray(list)) continue;
      for (const p of list) if (p && typeof p === 'object' && typeof (p as any).name === 'string') this.defineProperty(meta, p as Record<string, any>);
    }
  }

  /** Define a custom property (Properties API create, or OrgConfig.schema.properties). */
  defineProperty(meta: ObjectTypeMeta, b: Record<string, any>): PropertyDef {
    const now = iso(this.now());
    const p: PropertyDef = {
      name: String(b.name),
      label: String(b.label ?? b.name),
      type: (b.type ?? 'string') as PropertyType,
      fieldType: String(b.fieldType ?? 'text'),
      groupName: String(b.groupName ?? defaultGroupName(meta.name)),
      description: String(b.description ?? ''),
      options: (Array.isArray(b.options) ? b.options : []).map((o: any, i: number) => ({
        label: String(o.label ?? o.value), value: String(o.value), displayOrder: o.displayOrder ?? i, hidden: !!o.hidden, description: o.description,
      })),
      displayOrder: Number(b.displayOrder ?? -1),
      hasUniqueValue: b.hasUniqueValue === true,
      hidden: b.hidden === true,
      hubspotDefined: false,
      externalOptions: b.externalOptions === true,
      readOnlyValue: false,
      calculated: false,
      formField: b.formField === true,
      createdAt: now,
      updatedAt: now,
      archived: false,
    };
    this.props[meta.name].set(p.name, p);
    if (p.hasUniqueValue) this.store(meta).addUniqueProperty(p.name);
    return p;
  }

  // ---------- time ----------

  /** The portal's clock (frozen, jumped or real) for every server-maintained timestamp. */
  now(): number {
    return this.clock.now();
  }

  /** Time for rolling limits and token lifetimes: follows jumps of the clock but keeps running while frozen. */
  limitNow(): number {
    return this.clockFrozen ? Date.now() : this.clock.now();
  }

  setClockFrozen(frozen: boolean): void {
    this.clockFrozen = frozen;
  }

  setFaults(f: FaultConfig): void {
    this.faults.set(f);
  }

  /** Listen to committed changes (webhooks); returns the unsubscribe function. */
  onChange(listener: (c: PortalChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private emit(c: PortalChange): void {
    for (const l of this.changeListeners) l(c);
  }

  // ---------- lookups ----------

  store(meta: ObjectTypeMeta): ObjectStore {
    return this.stores[meta.name];
  }

  property(meta: ObjectTypeMeta, name: string): PropertyDef | undefined {
    return this.props[meta.name].get(name);
  }

  pipeline(id: string): PipelineDef | undefined {
    return this.pipelines.find((p) => p.id === id);
  }

  owner(id: string): Owner | undefined {
    return this.owners.find((o) => o.id === id);
  }

  /**
   * Resolve a record by id (or by a unique `idProperty`). A record merged away resolves to its survivor,
   * as HubSpot redirects merged ids; archived records only when `archived` is asked for.
   */
  find(meta: ObjectTypeMeta, id: string, opts: { archived?: boolean; idProperty?: string } = {}): HsRecord | undefined {
    const store = this.store(meta);
    if (opts.idProperty && opts.idProperty !== 'hs_object_id') {
      const found = store.findByUnique(opts.idProperty, id);
      return found ? store.get(found) : undefined;
    }
    let rec = store.records.get(id);
    if (!rec) return undefined;
    if (opts.archived) return rec.archived ? rec : undefined;
    for (let hops = 0; rec && rec.archived && rec.mergedInto && hops < 20; hops++) rec = store.records.get(rec.mergedInto);
    return rec && !rec.archived ? rec : undefined;
  }

  // ---------- JSON ----------

  recordJson(meta: ObjectTypeMeta, rec: HsRecord, wanted?: string[], opts: { history?: string[]; props?: Record<string, string>; modified?: number } = {}): Record<string, unknown> {
    const props = opts.props ?? rec.props;
    const names = wanted && wanted.length > 0 ? [...new Set([...wanted, ...alwaysReturned(meta)])] : meta.defaultProps;
    const properties: Record<string, string | null> = {};
    const defs = this.props[meta.name];
    for (const n of names) if (defs.has(n)) properties[n] = props[n] ?? null;
    const out: Record<string, unknown> = {
      id: rec.id,
      properties,
      createdAt: iso(rec.createdAt),
      updatedAt: iso(opts.modified ?? rec.updatedAt),
      archived: rec.archived,
    };
    if (rec.archived && rec.archivedAt !== undefined) out.archivedAt = iso(rec.archivedAt);
    if (opts.history && opts.history.length > 0) {
      const h: Record<string, unknown[]> = {};
      for (const n of opts.history) {
        if (!defs.has(n) || props[n] === undefined) continue;
        h[n] = [{ value: props[n], timestamp: iso(n === 'createdate' ? rec.createdAt : rec.updatedAt), sourceType: 'API', sourceId: 'sandbox' }];
      }
      out.propertiesWithHistory = h;
    }
    return out;
  }

  /** Every stored property of a record (what writes answer). */
  fullJson(meta: ObjectTypeMeta, rec: HsRecord): Record<string, unknown> {
    return this.recordJson(meta, rec, Object.keys(rec.props));
  }

  // ---------- validation ----------

  /**
   * Validate input properties against the definitions and return the normalised changes
   * ('' = clear), or every problem at once (HubSpot reports them all in one message).
   */
  validate(meta: ObjectTypeMeta, input: Record<string, unknown> | undefined): { changes: Record<string, string>; problems: PropertyProblem[] } {
    const defs = this.props[meta.name];
    const changes: Record<string, string> = {};
    const problems: PropertyProblem[] = [];
    for (const [name, value] of Object.entries(input ?? {})) {
      const def = defs.get(name);
      if (!def) {
        problems.push(propertyProblem(name, 'PROPERTY_DOESNT_EXIST', `Property "${name}" does not exist`));
        continue;
      }
      if (def.readOnlyValue) {
        // HubSpot silently accepts its own value back for hs_object_id; anything else is refused.
        if (name === 'hs_object_id') continue;
        problems.push(propertyProblem(name, 'READ_ONLY_VALUE', `${name} is a read only property; its value cannot be set.`));
        continue;
      }
      const n = normaliseValue(def, value);
      if (!n.ok) problems.push(n.problem);
      else changes[name] = n.value;
    }
    if (changes.hubspot_owner_id && !this.owner(changes.hubspot_owner_id)) {
      problems.push(propertyProblem('hubspot_owner_id', 'INVALID_OWNER_ID', `${changes.hubspot_owner_id} is not a valid owner id`));
    }
    return { changes, problems };
  }

  /** Apply changes to a copy of `base` and derive the server-maintained deal properties. */
  private nextProps(meta: ObjectTypeMeta, base: Record<string, string>, changes: Record<string, string>): { props: Record<string, string> } | { problems: PropertyProblem[] } {
    const props = { ...base };
    for (const [k, v] of Object.entries(changes)) {
      if (v === '') delete props[k];
      else props[k] = v;
    }
    if (meta.name !== 'deals') return { props };
    if (props.dealstage && !props.pipeline) props.pipeline = 'default';
    const problems: PropertyProblem[] = [];
    const pipeline = props.pipeline ? this.pipeline(props.pipeline) : undefined;
    if (props.pipeline && !pipeline) {
      problems.push(propertyProblem('pipeline', 'INVALID_OPTION', `${props.pipeline} was not one of the allowed options: [${this.pipelines.map((p) => p.id).join(', ')}]`));
    }
    const stage = pipeline && props.dealstage ? pipeline.stages.find((s) => s.id === props.dealstage) : undefined;
    if (pipeline && props.dealstage && !stage) {
      problems.push(
        propertyProblem('dealstage', 'INVALID_OPTION', `${props.dealstage} was not one of the allowed options: [${pipeline.stages.map((s) => s.id).join(', ')}]`),
      );
    }
    if (problems.length > 0) return { problems };
    if (stage) {
      props.hs_is_closed = String(stage.isClosed);
      props.hs_is_closed_won = String(isWon(stage));
      props.hs_is_closed_lost = String(isLost(stage));
      props.hs_deal_stage_probability = String(stage.probability);
    } else {
      for (const k of ['hs_is_closed', 'hs_is_closed_won', 'hs_is_closed_lost', 'hs_deal_stage_probability']) delete props[k];
    }
    return { props };
  }

  private validationFailure(problems: PropertyProblem[]): InputFailure {
    return { statusCode: 400, body: propertyValidationBody(problems) };
  }

  /** A unique value already held by another record. */
  private uniqueConflict(meta: ObjectTypeMeta, props: Record<string, string>, selfId?: string): InputFailure | undefined {
    const store = this.store(meta);
    for (const [name, def] of this.props[meta.name]) {
      if (!def.hasUniqueValue || !props[name]) continue;
      const holder = store.findByUnique(name, props[name]);
      if (holder && holder !== selfId) {
        const message =
          meta.name === 'contacts' && name === 'email'
            ? `Contact already exists. Existing ID: ${holder}`
            : `A ${meta.singular} with ${name} "${props[name]}" already exists. Existing ID: ${holder}`;
        return { statusCode: 409, body: errorBody('CONFLICT', message, { context: { [name]: [props[name]], existingId: [holder] } }) };
      }
    }
    return undefined;
  }

  private resolveAssociations(meta: ObjectTypeMeta, inputs: AssociationInput[] | undefined): { links: PreparedCreate['links'] } | InputFailure {
    const links: PreparedCreate['links'] = [];
    for (const a of inputs ?? []) {
      const toId = a.to?.id === undefined ? '' : String(a.to.id);
      const types = a.types ?? [];
      if (!toId || types.length === 0) {
        return { statusCode: 400, body: errorBody('VALIDATION_ERROR', 'Each association needs to.id and at least one type') };
      }
      let target: ObjectTypeName | undefined;
      const typeIds: number[] = [];
      for (const t of types) {
        const def = (Object.keys(OBJECT_TYPES) as ObjectTypeName[])
          .map((to) => this.assoc.type(meta.name, to, Number(t.associationTypeId)))
          .find((d) => d !== undefined);
        if (!def || (t.associationCategory && t.associationCategory !== def.category) || (target && def.to !== target)) {
          return {
            statusCode: 400,
            body: errorBody('VALIDATION_ERROR', `${t.associationCategory ?? '?'} ${t.associationTypeId} is not a valid association type from ${meta.singular}`, {
              subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE',
            }),
          };
        }
        target = def.to;
        typeIds.push(def.typeId);
      }
      if (!this.find(OBJECT_TYPES[target!], toId)) {
        return {
          statusCode: 400,
          body: errorBody('VALIDATION_ERROR', `${OBJECT_TYPES[target!].upper} ${toId} does not exist`, { subCategory: 'crm.associations.INVALID_OBJECT_IDS', context: { ids: [toId] } }),
        };
      }
      links.push({ to: target!, toId, typeIds });
    }
    return { links };
  }

  // ---------- writes ----------

  /** Validate a create. `extra` are properties the server adds (upsert's idProperty value). */
  prepareCreate(meta: ObjectTypeMeta, input: WriteInput, extra: Record<string, string> = {}): PreparedCreate | InputFailure {
    const v = this.validate(meta, input.properties);
    const next = this.nextProps(meta, {}, { ...v.changes, ...extra });
    const problems = [...v.problems, ...('problems' in next ? next.problems : [])];
    if (problems.length > 0 || !('props' in next)) return this.validationFailure(problems);
    const conflict = this.uniqueConflict(meta, next.props);
    if (conflict) return conflict;
    const assoc = this.resolveAssociations(meta, input.associations);
    if ('statusCode' in assoc) return assoc;
    return { props: next.props, links: assoc.links };
  }

  commitCreate(meta: ObjectTypeMeta, prepared: PreparedCreate, now: number): HsRecord {
    const store = this.store(meta);
    const idNum = store.allocateId();
    const id = String(idNum);
    const props = prepared.props;
    const created = props.createdate ? parseInstant(props.createdate) : now;
    props.hs_object_id = id;
    props.createdate = iso(created);
    props[meta.modifiedProp] = iso(now);
    const rec: HsRecord = { id, idNum, props, createdAt: created, updatedAt: now, archived: false };
    store.insert(rec);
    this.emit({ kind: 'creation', object: meta.name, id, at: now });
    for (const l of prepared.links) this.assoc.add(meta.name, id, l.to, l.toId, l.typeIds);
    return rec;
  }

  /** Validate an update of `rec`; returns the full next property set (or null when nothing changes). */
  prepareUpdate(meta: ObjectTypeMeta, rec: HsRecord, input: WriteInput): { props: Record<string, string> | null } | InputFailure {
    const v = this.validate(meta, input.properties);
    const next = this.nextProps(meta, rec.props, v.changes);
    const problems = [...v.problems, ...('problems' in next ? next.problems : [])];
    if (problems.length > 0 || !('props' in next)) return this.validationFailure(problems);
    const conflict = this.uniqueConflict(meta, next.props, rec.id);
    if (conflict) return conflict;
    return { props: sameProps(rec.props, next.props) ? null : next.props };
  }

  /** Commit an update; a write that changes nothing does not bump the modification date. */
  commitUpdate(meta: ObjectTypeMeta, rec: HsRecord, props: Record<string, string> | null, now: number): void {
    if (!props) return;
    const before = rec.props;
    props[meta.modifiedProp] = iso(now);
    this.store(meta).update(rec, props, now);
    this.emitPropertyChanges(meta, rec.id, before, props, now);
  }

  /** One propertyChange per property whose value changed (a cleared value changes to ''), as HubSpot sends them. */
  private emitPropertyChanges(meta: ObjectTypeMeta, id: string, before: Record<string, string>, after: Record<string, string>, now: number): void {
    if (this.changeListeners.size === 0) return;
    for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (before[name] === after[name]) continue;
      this.emit({ kind: 'propertyChange', object: meta.name, id, at: now, propertyName: name, propertyValue: after[name] ?? '' });
    }
  }

  archive(meta: ObjectTypeMeta, rec: HsRecord, now: number): void {
    if (rec.archived) return;
    this.store(meta).archive(rec, now);
    this.emit({ kind: 'deletion', object: meta.name, id: rec.id, at: now });
  }

  /**
   * Restore an archived record (HubSpot: from the recycle bin, in the UI; there is no v3 endpoint, so the
   * sandbox offers `POST /__sandbox/restore/{type}/{id}`). A merged-away record cannot be restored.
   */
  restore(meta: ObjectTypeMeta, rec: HsRecord, now: number): boolean {
    if (!rec.archived || rec.mergedInto) return false;
    if (this.uniqueConflict(meta, rec.props, rec.id)) return false;
    const props = { ...rec.props, [meta.modifiedProp]: iso(now) };
    this.store(meta).restore(rec, props, now);
    this.emit({ kind: 'restore', object: meta.name, id: rec.id, at: now });
    return true;
  }

  /**
   * Merge `mergeId` into `primaryId`: the survivor keeps its values and fills blanks from the other,
   * gains its associations, and lists it in `hs_merged_object_ids`; the other record is archived.
   */
  merge(meta: ObjectTypeMeta, primary: HsRecord, merged: HsRecord, now: number): HsRecord {
    const props = { ...primary.props };
    for (const [k, v] of Object.entries(merged.props)) {
      const def = this.property(meta, k);
      if (props[k] === undefined && def && !def.readOnlyValue && k !== 'createdate') props[k] = v;
    }
    const ids = new Set([...(primary.props.hs_merged_object_ids ?? '').split(';'), merged.id, ...(merged.props.hs_merged_object_ids ?? '').split(';')]);
    ids.delete('');
    props.hs_merged_object_ids = [...ids].join(';');
    const next = this.nextProps(meta, {}, props);
    const finalProps = 'props' in next ? next.props : props;
    const moved = Object.keys(finalProps).filter((k) => primary.props[k] === undefined && k !== 'hs_merged_object_ids' && k !== meta.modifiedProp).length;
    this.assoc.moveAll(meta.name, merged.id, primary.id);
    merged.mergedInto = primary.id;
    this.store(meta).archive(merged, now);
    finalProps[meta.modifiedProp] = iso(now);
    this.store(meta).update(primary, finalProps, now);
    this.emit({ kind: 'merge', object: meta.name, id: primary.id, at: now, mergedIds: [merged.id], propertiesMoved: moved });
    return primary;
  }
}

function sameProps(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
