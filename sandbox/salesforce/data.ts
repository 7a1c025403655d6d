import { ApiError, RecordFailure, type RecordError } from './errors.js';
import { IdFactory, normalizeId } from './ids.js';
import {
  OPPORTUNITY_STAGES, addField, customObject, fieldFromMetadata, standardObjects, SchemaError,
  type CustomFieldMetadata, type FieldDef, type ObjectDef,
} from './schema.js';
import { parseInstant, type QueryContext } from './soql.js';
import { Table, type Rec } from './store.js';

/**
 * The org's data and its write rules: types, lengths, required fields, restricted picklists, unique
 * external ids, references, derived fields (IsClosed/IsWon/Probability from StageName, User.Name) and
 * server-maintained audit fields. One write call = one transaction = one timestamp, so every record of
 * a collection shares its SystemModstamp, as in a real org.
 */

export interface WriteContext {
  /** The transaction's timestamp (epoch ms). */
  now: number;
  /** The user the session runs as (CreatedById / LastModifiedById / default OwnerId). */
  userId: string;
  /** Fault hook: should this record fail with UNABLE_TO_LOCK_ROW? */
  lockRow?: () => boolean;
  /**
   * When set, every record change of the transaction is appended here (Change Data Capture reads it
   * once the transaction commits; a rolled-back transaction clears it).
   */
  changes?: CapturedChange[];
  /**
   * The rollback of an enclosing transaction (a Composite request with allOrNone): writes that are not
   * given an `undo` of their own record their rollback here.
   */
  undo?: Undo;
}

/** One record change of a transaction, as Change Data Capture sees it. */
export interface CapturedChange {
  object: string;
  id: string;
  changeType: 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';
  /** Field values the change set (CREATE: every non-null field; UPDATE: the changed ones). */
  values: Record<string, unknown>;
}

export interface SaveResult {
  id: string | null;
  success: boolean;
  errors: RecordError[];
  created?: boolean;
}

const DAY = 86_400_000;

/** A validation rule (config), failing writes with FIELD_CUSTOM_VALIDATION_EXCEPTION like an org's own rules. */
export interface ValidationRule {
  object: string;
  /** Shown as the error message. */
  message: string;
  /** The field the error is attached to (`fields: [field]`); omit for a record-level error. */
  errorField?: string;
  /** The record is rejected when this holds. */
  when: { field: string; op: '=' | '!=' | '<' | '>' | '<=' | '>=' | 'blank' | 'notBlank'; value?: string | number | boolean };
}

export class SalesforceData {
  readonly objects = new Map<string, ObjectDef>();
  readonly tables = new Map<string, Table>();
  readonly ids = new IdFactory();
  /** Custom fields/objects created after start (config or Tooling API), replayed on restore. */
  readonly customizations: Array<{ kind: 'field'; object: string; name: string; metadata: CustomFieldMetadata; id: string } | { kind: 'object'; name: string; label?: string; pluralLabel?: string; keyPrefix: string; id: string }> = [];
  private customObjectCount = 0;
  readonly validationRules: ValidationRule[] = [];
  /** The time the org was created; getDeleted's earliestDateAvailable never goes below it. */
  createdAt: number;

  constructor(createdAt: number) {
    this.createdAt = createdAt;
    for (const o of standardObjects()) this.addObject(o);
  }

  private addObject(o: ObjectDef): void {
    this.objects.set(o.name.toLowerCase(), o);
    this.tables.set(o.name.toLowerCase(), new Table(o));
  }

  object(name: string): ObjectDef | undefined {
    return this.objects.get(name.toLowerCase());
  }

  /** What SOQL and SOSL read the org through. */
  queryContext(now: () => number): QueryContext {
    return { object: (n) => this.object(n), table: (n) => this.table(n), objects: () => [...this.objects.values()], now };
  }

  table(name: string): Table {
    const t = this.tables.get(name.toLowerCase());
    if (!t) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return t;
  }

  // ---------- schema changes ----------

  createCustomObject(name: string, label?: string, pluralLabel?: string): { id: string; object: ObjectDef } {
    if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(name)) throw new SchemaError('INVALID_FIELD', `Custom object names end in __c: ${name}`);
    if (this.object(name)) throw new SchemaError('DUPLICATE_DEVELOPER_NAME', `There is already an object named ${name.replace(/__c$/, '')}.`);
    const keyPrefix = `a0${'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[this.customObjectCount++ % 36]}`;
    const o = customObject(name, keyPrefix, label, pluralLabel);
    this.addObject(o);
    const id = this.ids.next('01I');
    this.customizations.push({ kind: 'object', name, label, pluralLabel, keyPrefix, id });
    return { id, object: o };
  }

  createCustomField(objectName: string, fieldName: string, md: CustomFieldMetadata): { id: string; field: FieldDef } {
    const o = this.object(objectName);
    if (!o) throw new SchemaError('INVALID_TYPE', `Cannot find entity: ${objectName}`);
    if (o.fields.has(fieldName.toLowerCase())) throw new SchemaError('DUPLICATE_DEVELOPER_NAME', `There is already a field named ${fieldName.replace(/__c$/, '')} on ${o.name}.`);
    const f = fieldFromMetadata(fieldName, md);
    if (f.type === 'reference' && !this.object(f.referenceTo[0])) throw new SchemaError('FIELD_INTEGRITY_EXCEPTION', `referenceTo: no such object ${f.referenceTo[0]}`);
    addField(o, f);
    if (f.externalId || f.unique) this.table(o.name).indexField(f);
    const id = this.ids.next('00N');
    this.customizations.push({ kind: 'field', object: o.name, name: f.name, metadata: md, id });
    return { id, field: f };
  }

  // ---------- reads ----------

  get(type: string, id: string): Rec {
    const t = this.table(type);
    const norm = normalizeId(id);
    const rec = norm ? t.byId.get(norm) : undefined;
    if (!rec) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    if (rec.IsDeleted) throw new ApiError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
    return rec;
  }

  // ---------- value coercion ----------

  /** Coerce one incoming value; type mismatches are request-level JSON_PARSER_ERRORs, like the real deserializer. */
  private coerce(o: ObjectDef, f: FieldDef, value: unknown, errors: RecordError[]): unknown {
    if (value === null || value === undefined || value === '') return f.type === 'boolean' ? false : null;
    const parserError = () => new ApiError(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of ${f.type} from ${typeof value === 'string' ? 'VALUE_STRING' : typeof value === 'number' ? 'VALUE_NUMBER' : 'START_OBJECT'} value ${JSON.stringify(value)} or request may be missing a required field at [line:1, column:1]`);
    switch (f.type) {
      case 'boolean':
        if (typeof value === 'boolean') return value;
        if (value === 'true' || value === 'false') return value === 'true';
        throw parserError();
      case 'int':
      case 'double':
      case 'currency':
      case 'percent': {
        const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
        if (!Number.isFinite(n)) throw parserError();
        if (f.type === 'int' && !Number.isInteger(n)) throw parserError();
        const maxDigits = f.type === 'int' ? (f.digits || 9) : f.precision - f.scale;
        if (Math.abs(n) >= 10 ** maxDigits) errors.push({ statusCode: 'NUMBER_OUTSIDE_VALID_RANGE', message: `${f.label}: value outside of valid range on numeric field: ${n}`, fields: [f.name] });
        return f.type === 'int' ? n : Number(n.toFixed(f.scale));
      }
      case 'date': {
        if (typeof value !== 'string') throw parserError();
        const m = /^(\d{4}-\d{2}-\d{2})(?:T.*)?$/.exec(value);
        if (!m || Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`))) throw parserError();
        return m[1];
      }
      case 'datetime': {
        if (typeof value !== 'string') throw parserError();
        const t = parseInstant(value.length === 10 ? `${value}T00:00:00Z` : value);
        if (Number.isNaN(t)) throw parserError();
        return t;
      }
      case 'id':
      case 'reference': {
        if (typeof value !== 'string') throw parserError();
        const id = normalizeId(value);
        const target = f.referenceTo[0];
        const td = target ? this.object(target) : undefined;
        if (!id || (td && !id.startsWith(td.keyPrefix))) {
          errors.push({ statusCode: 'MALFORMED_ID', message: `${f.label}: id value of incorrect type: ${value}`, fields: [f.name] });
          return null;
        }
        const rec = td ? this.table(td.name).byId.get(id) : undefined;
        if (td && (!rec || rec.IsDeleted)) {
          errors.push({ statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: `invalid cross reference id`, fields: [f.name] });
          return null;
        }
        return id;
      }
      default: {
        if (typeof value === 'object') throw parserError();
        const s = String(value);
        if (f.length && s.length > f.length) {
          errors.push({ statusCode: 'STRING_TOO_LONG', message: `${f.label}: data value too large: ${s.length > 80 ? `${s.slice(0, 80)}...` : s} (max length=${f.length})`, fields: [f.name] });
        }
        if (f.type === 'email' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s)) {
          errors.push({ statusCode: 'INVALID_EMAIL_ADDRESS', message: `${f.label}: invalid email address: ${s}`, fields: [f.name] });
        }
        if (f.type === 'picklist' && f.restrictedPicklist && !f.picklistValues.some((p) => p.value === s && p.active)) {
          errors.push({ statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: `${f.label}: bad value for restricted picklist field: ${s}`, fields: [f.name] });
        }
        return s;
      }
    }
  }

  /** Validate a write body into field changes (canonical names). Throws RecordFailure / ApiError. */
  private changesFrom(o: ObjectDef, body: Record<string, unknown>, mode: 'create' | 'update', skip?: string): Record<string, unknown> {
    const errors: RecordError[] = [];
    const changes: Record<string, unknown> = {};
    const readOnly: string[] = [];
    for (const [key, value] of Object.entries(body)) {
      if (key === 'attributes' || (skip && key.toLowerCase() === skip.toLowerCase())) continue;
      if (key === 'Id' && mode === 'update') continue;
      const f = o.fields.get(key.toLowerCase());
      if (!f) throw new ApiError(400, 'INVALID_FIELD', `No such column '${key}' on sobject of type ${o.name}`);
      if (mode === 'create' ? !f.createable : !f.updateable) {
        readOnly.push(f.name);
        continue;
      }
      changes[f.name] = this.coerce(o, f, value, errors);
    }
    if (readOnly.length) {
      throw new ApiError(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`, readOnly);
    }
    if (errors.length) throw new RecordFailure(errors);
    return changes;
  }

  private readonly requiredCache = new Map<ObjectDef, { size: number; names: string[] }>();

  /** Fields a create must set (createable, not nillable, no server default); cached per schema version. */
  private requiredFields(o: ObjectDef): string[] {
    const hit = this.requiredCache.get(o);
    if (hit && hit.size === o.order.length) return hit.names;
    const names = o.order.filter((n) => {
      const f = o.fields.get(n.toLowerCase())!;
      return f.createable && !f.nillable && !f.defaultedOnCreate && f.type !== 'boolean';
    });
    this.requiredCache.set(o, { size: o.order.length, names });
    return names;
  }

  /** On create every required field must be set; on update none may be set to null. */
  private checkRequired(o: ObjectDef, values: Record<string, unknown>, creating: boolean): void {
    const missing: string[] = [];
    for (const name of this.requiredFields(o)) {
      const v = values[name];
      if (creating ? v === null || v === undefined : v === null) missing.push(name);
    }
    if (missing.length) throw RecordFailure.of('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
  }

  private checkUnique(o: ObjectDef, id: string | undefined, merged: Record<string, unknown>, changed: Record<string, unknown>): void {
    const t = this.table(o.name);
    for (const name of Object.keys(changed)) {
      const f = o.fields.get(name.toLowerCase())!;
      if (!f.unique) continue;
      const other = t.lookup(f, merged[f.name]).find((x) => x !== id);
      if (other) throw RecordFailure.of('DUPLICATE_VALUE', `duplicate value found: ${f.name} duplicates value on record with id: ${other}`, []);
    }
  }

  /** Server-maintained and derived fields. */
  private derive(o: ObjectDef, merged: Record<string, unknown>, changes: Record<string, unknown>, creating: boolean): void {
    if (o.name === 'Opportunity' && ('StageName' in changes || creating)) {
      const stage = OPPORTUNITY_STAGES.find((s) => s.value === merged.StageName);
      const closed = stage?.closed ?? false;
      changes.IsClosed = closed;
      changes.IsWon = stage?.won ?? false;
      if (!('Probability' in changes) && stage) changes.Probability = stage.probability;
      if (!('ForecastCategoryName' in changes)) changes.ForecastCategoryName = stage?.forecast ?? 'Pipeline';
    }
    if (o.name === 'User' && ('FirstName' in changes || 'LastName' in changes || creating)) {
      changes.Name = [merged.FirstName, merged.LastName].filter(Boolean).join(' ');
    }
  }

  private checkRules(o: ObjectDef, read: (field: string) => unknown): void {
    for (const r of this.validationRules) {
      if (r.object.toLowerCase() !== o.name.toLowerCase()) continue;
      const f = o.fields.get(r.when.field.toLowerCase());
      let v = read(f?.name ?? r.when.field);
      const blank = v === null || v === undefined || v === '';
      let hit: boolean;
      if (r.when.op === 'blank') hit = blank;
      else if (r.when.op === 'notBlank') hit = !blank;
      else if (blank) hit = false;
      else {
        let w: unknown = r.when.value;
        if (typeof v === 'number' && typeof w === 'string') w = Number(w);
        if (f?.type === 'datetime' && typeof w === 'string') w = parseInstant(w);
        if (typeof v === 'string' && typeof w === 'string') { v = v.toLowerCase(); w = w.toLowerCase(); }
        const a = v as number | string;
        const b = w as number | string;
        hit = r.when.op === '=' ? a === b : r.when.op === '!=' ? a !== b : r.when.op === '<' ? a < b : r.when.op === '>' ? a > b : r.when.op === '<=' ? a <= b : a >= b;
      }
      if (hit) throw RecordFailure.of('FIELD_CUSTOM_VALIDATION_EXCEPTION', r.message, r.errorField ? [r.errorField] : []);
    }
  }

  // ---------- writes ----------

  private lockCheck(ctx: WriteContext, id?: string): void {
    if (ctx.lockRow?.()) throw RecordFailure.of('UNABLE_TO_LOCK_ROW', `unable to obtain exclusive access to this record or 1 records: ${id ?? ''}`.trim(), []);
  }

  create(type: string, body: Record<string, unknown>, ctx: WriteContext, undo?: Undo): Rec {
    undo ??= ctx.undo;
    const o = this.object(type);
    if (!o) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    if (!o.createable) throw RecordFailure.of('INVALID_TYPE_FOR_OPERATION', `entity type cannot be inserted: ${o.label}`, []);
    if ('Id' in body && body.Id) throw RecordFailure.of('INVALID_FIELD_FOR_INSERT_UPDATE', 'cannot specify Id in an insert call', ['Id']);
    const changes = this.changesFrom(o, body, 'create');
    // Defaults.
    for (const f of o.fields.values()) {
      if (f.type === 'boolean' && f.createable && !(f.name in changes)) changes[f.name] = f.defaultValue === true;
    }
    if (o.fields.has('ownerid') && !changes.OwnerId) changes.OwnerId = ctx.userId;
    this.checkRequired(o, changes, true);
    this.checkUnique(o, undefined, changes, changes);
    this.derive(o, changes, changes, true);
    if (this.validationRules.length) this.checkRules(o, (k) => changes[k]);
    if (o.name === 'Partner') this.partnerRules(changes);
    this.lockCheck(ctx);
    const rec = {
      Id: this.ids.next(o.keyPrefix),
      IsDeleted: false,
      ...changes,
      CreatedDate: ctx.now,
      CreatedById: ctx.userId,
      LastModifiedDate: ctx.now,
      LastModifiedById: ctx.userId,
      SystemModstamp: ctx.now,
      $v: 0,
    } as Rec;
    this.table(o.name).insert(rec);
    undo?.push(() => this.table(o.name).purge(rec.Id));
    ctx.changes?.push({ object: o.name, id: rec.Id, changeType: 'CREATE', values: Object.fromEntries(Object.entries(rec).filter(([k, v]) => !k.startsWith('$') && v !== null && v !== undefined)) });
    if (o.name === 'Partner') this.afterPartnerCreate(rec, ctx, undo);
    return rec;
  }

  update(type: string, id: string, body: Record<string, unknown>, ctx: WriteContext, undo?: Undo, skip?: string): Rec {
    undo ??= ctx.undo;
    const o = this.object(type);
    if (!o) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const norm = normalizeId(id);
    const rec = norm ? this.table(o.name).byId.get(norm) : undefined;
    if (!rec || !rec.Id.startsWith(o.keyPrefix)) throw RecordFailure.of('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []);
    if (rec.IsDeleted) throw RecordFailure.of('ENTITY_IS_DELETED', 'entity is deleted', []);
    if (!o.updateable) throw RecordFailure.of('INVALID_TYPE_FOR_OPERATION', `entity type does not support update: ${o.label}`, []);
    const changes = this.changesFrom(o, body, 'update', skip);
    this.checkRequired(o, changes, false);
    this.checkUnique(o, rec.Id, changes, changes);
    // Only the derivations read the merged record, and only these fields of it.
    const merged = o.name === 'Opportunity' || o.name === 'User'
      ? { StageName: 'StageName' in changes ? changes.StageName : rec.StageName, FirstName: 'FirstName' in changes ? changes.FirstName : rec.FirstName, LastName: 'LastName' in changes ? changes.LastName : rec.LastName }
      : changes;
    this.derive(o, merged, changes, false);
    if (this.validationRules.length) this.checkRules(o, (k) => (k in changes ? changes[k] : rec[k]));
    this.lockCheck(ctx, rec.Id);
    let before: Record<string, unknown> | undefined;
    if (undo) {
      before = { LastModifiedDate: rec.LastModifiedDate, LastModifiedById: rec.LastModifiedById, SystemModstamp: rec.SystemModstamp };
      for (const k in changes) before[k] = rec[k];
    }
    changes.LastModifiedDate = ctx.now;
    changes.LastModifiedById = ctx.userId;
    changes.SystemModstamp = ctx.now;
    this.table(o.name).update(rec, changes);
    if (undo) undo.push(() => this.table(o.name).update(rec, before!));
    ctx.changes?.push({ object: o.name, id: rec.Id, changeType: 'UPDATE', values: { ...changes } });
    return rec;
  }

  /** Upsert by external id: created / updated, or a 300-style conflict when several records match. */
  upsert(type: string, extField: string, extValue: unknown, body: Record<string, unknown>, ctx: WriteContext, undo?: Undo): { rec: Rec; created: boolean } {
    const o = this.object(type);
    if (!o) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const f = o.fields.get(extField.toLowerCase());
    if (!f) throw new ApiError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${extField}`);
    if (!f.externalId && !f.idLookup) throw new ApiError(400, 'INVALID_FIELD', `Field ${f.name} is not an external id field`);
    if (extValue === null || extValue === undefined || extValue === '') throw RecordFailure.of('MISSING_ARGUMENT', `${f.name} not specified`, [f.name]);
    let bodyExt: unknown;
    const extLower = f.name.toLowerCase();
    for (const k in body) if (k.length === extLower.length && k.toLowerCase() === extLower) bodyExt = body[k];
    if (bodyExt !== undefined && bodyExt !== null && String(bodyExt) !== String(extValue)) {
      throw RecordFailure.of('INVALID_FIELD', `Field ${f.name} was specified with a different value in the body`, [f.name]);
    }
    let matches: string[];
    if (f.type === 'id') {
      const id = normalizeId(extValue);
      const r = id ? this.table(o.name).byId.get(id) : undefined;
      matches = r && !r.IsDeleted ? [r.Id] : [];
    } else {
      matches = this.table(o.name).isIndexed(f.name)
        ? [...this.table(o.name).lookup(f, this.coerceLookup(f, extValue))]
        : [...this.table(o.name).byId.values()].filter((r) => !r.IsDeleted && String(r[f.name]).toLowerCase() === String(extValue).toLowerCase()).map((r) => r.Id);
    }
    if (matches.length > 1) throw new MultipleMatches(matches);
    if (matches.length === 1) return { rec: this.update(o.name, matches[0], body, ctx, undo, f.name), created: false };
    const createBody = f.type === 'id' ? body : { ...body, [f.name]: extValue };
    return { rec: this.create(o.name, createBody, ctx, undo), created: true };
  }

  private coerceLookup(f: FieldDef, v: unknown): unknown {
    return f.type === 'double' ? Number(v) : v;
  }

  delete(type: string, id: string, ctx: WriteContext, undo?: Undo): Rec {
    undo ??= ctx.undo;
    const norm = normalizeId(id);
    const o = type ? this.object(type) : norm ? [...this.objects.values()].find((x) => norm.startsWith(x.keyPrefix)) : undefined;
    if (!o) throw RecordFailure.of('MALFORMED_ID', `malformed id ${id}`, []);
    const rec = norm ? this.table(o.name).byId.get(norm) : undefined;
    if (!rec) throw RecordFailure.of('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []);
    if (rec.IsDeleted) throw RecordFailure.of('ENTITY_IS_DELETED', 'entity is deleted', []);
    if (!o.deletable) throw RecordFailure.of('INVALID_TYPE_FOR_OPERATION', `entity type cannot be deleted: ${o.label}`, []);
    this.lockCheck(ctx, rec.Id);
    this.softDelete(o, rec, ctx, undo);
    // Cascades as in a real org: an Account takes its Opportunities with it; a Partner its mirror rows.
    if (o.name === 'Account') {
      for (const opp of this.table('Opportunity').byId.values()) if (!opp.IsDeleted && opp.AccountId === rec.Id) this.softDelete(this.object('Opportunity')!, opp, ctx, undo);
    }
    if (o.name === 'Partner' || o.name === 'Opportunity') {
      for (const t of ['Partner', 'OpportunityPartner']) {
        for (const p of this.table(t).byId.values()) {
          if (!p.IsDeleted && (p.ReversePartnerId === rec.Id || p.OpportunityId === rec.Id)) this.softDelete(this.object(t)!, p, ctx, undo);
        }
      }
    }
    return rec;
  }

  /**
   * Undelete from the Recycle Bin (the UI's Restore; the SOAP API's `undelete()`): the record comes
   * back with the SAME Id, IsDeleted false, LastModifiedDate and SystemModstamp bumped (so change
   * feeds see it again) and out of `getDeleted`. An Account brings back the Opportunities its delete
   * cascaded to (deleted in the same transaction), as Salesforce does. Refused as Salesforce refuses:
   * a record that is not deleted (UNDELETE_FAILED), one merged away (MasterRecordId set), or one whose
   * unique field value another record took meanwhile (DUPLICATE_VALUE).
   */
  undelete(type: string, id: string, ctx: WriteContext): Rec[] {
    const o = this.object(type);
    if (!o) throw new ApiError(404, 'NOT_FOUND', `The requested resource does not exist: sObject type '${type}' is not supported`);
    const norm = normalizeId(id);
    const rec = norm ? this.table(o.name).byId.get(norm) : undefined;
    if (!rec) throw RecordFailure.of('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []);
    if (!rec.IsDeleted) throw RecordFailure.of('UNDELETE_FAILED', 'Entity is not in the recycle bin', []);
    if (rec.MasterRecordId) throw RecordFailure.of('UNDELETE_FAILED', `Entity was merged into ${String(rec.MasterRecordId)} and cannot be undeleted`, []);
    const deletedAt = rec.$deletedAt;
    const back = [rec];
    if (o.name === 'Account') for (const opp of this.table('Opportunity').byId.values()) if (opp.IsDeleted && opp.AccountId === rec.Id && opp.$deletedAt === deletedAt) back.push(opp);
    for (const r of back) {
      const def = this.object(r.Id === rec.Id ? o.name : 'Opportunity')!;
      const unique = Object.fromEntries([...def.fields.values()].filter((f) => f.unique && r[f.name] !== null && r[f.name] !== undefined).map((f) => [f.name, r[f.name]]));
      this.checkUnique(def, r.Id, r, unique);
    }
    for (const r of back) {
      this.table(r.Id === rec.Id ? o.name : 'Opportunity').update(r, { IsDeleted: false, $deletedAt: undefined, LastModifiedDate: ctx.now, LastModifiedById: ctx.userId, SystemModstamp: ctx.now });
      ctx.changes?.push({ object: r.Id === rec.Id ? o.name : 'Opportunity', id: r.Id, changeType: 'UNDELETE', values: { LastModifiedDate: ctx.now, LastModifiedById: ctx.userId } });
    }
    return back;
  }

  private softDelete(o: ObjectDef, rec: Rec, ctx: WriteContext, undo?: Undo): void {
    const before = { IsDeleted: rec.IsDeleted, SystemModstamp: rec.SystemModstamp, $deletedAt: rec.$deletedAt };
    this.table(o.name).update(rec, { IsDeleted: true, SystemModstamp: ctx.now, $deletedAt: ctx.now });
    undo?.push(() => this.table(o.name).update(rec, before));
    ctx.changes?.push({ object: o.name, id: rec.Id, changeType: 'DELETE', values: {} });
  }

  private partnerRules(changes: Record<string, unknown>): void {
    if (!changes.OpportunityId && !changes.AccountFromId) throw RecordFailure.of('REQUIRED_FIELD_MISSING', 'Required fields are missing: [OpportunityId or AccountFromId]', ['OpportunityId', 'AccountFromId']);
    if (changes.OpportunityId && changes.AccountFromId) throw RecordFailure.of('FIELD_INTEGRITY_EXCEPTION', 'Specify either OpportunityId or AccountFromId, not both', ['OpportunityId', 'AccountFromId']);
    if (changes.AccountFromId && changes.AccountFromId === changes.AccountToId) throw RecordFailure.of('FIELD_INTEGRITY_EXCEPTION', 'An account cannot be its own partner', ['AccountToId']);
  }

  /** A Partner on an opportunity appears as an OpportunityPartner row; one primary partner per opportunity. */
  private afterPartnerCreate(partner: Rec, ctx: WriteContext, undo?: Undo): void {
    if (!partner.OpportunityId) return;
    if (partner.IsPrimary) {
      for (const t of ['Partner', 'OpportunityPartner']) {
        for (const p of this.table(t).byId.values()) {
          if (p !== partner && !p.IsDeleted && p.OpportunityId === partner.OpportunityId && p.IsPrimary) {
            const before = { IsPrimary: true, SystemModstamp: p.SystemModstamp };
            this.table(t).update(p, { IsPrimary: false, SystemModstamp: ctx.now });
            undo?.push(() => this.table(t).update(p, before));
          }
        }
      }
    }
    const mirror = {
      Id: this.ids.next('00J'), IsDeleted: false, OpportunityId: partner.OpportunityId, AccountToId: partner.AccountToId,
      Role: partner.Role ?? null, IsPrimary: !!partner.IsPrimary, ReversePartnerId: partner.Id,
      CreatedDate: ctx.now, CreatedById: ctx.userId, LastModifiedDate: ctx.now, LastModifiedById: ctx.userId, SystemModstamp: ctx.now, $v: 0,
    } as Rec;
    this.table('OpportunityPartner').insert(mirror);
    undo?.push(() => this.table('OpportunityPartner').purge(mirror.Id));
  }

  // ---------- replication ----------

  private window(startS: string | undefined, endS: string | undefined, maxDays: number, now: number): [number, number] {
    const start = startS ? parseInstant(startS) : NaN;
    const end = endS ? parseInstant(endS) : NaN;
    if (Number.isNaN(start) || Number.isNaN(end)) throw new ApiError(400, 'INVALID_REPLICATION_DATE', 'start and end must be ISO-8601 datetimes');
    if (end <= start) throw new ApiError(400, 'INVALID_REPLICATION_DATE', 'EndDate must be after StartDate');
    if (start < now - maxDays * DAY) throw new ApiError(400, 'INVALID_REPLICATION_DATE', `startDate cannot be more than ${maxDays} days ago`);
    // Salesforce works in whole minutes: seconds are dropped and the window never reaches into the future.
    const floorMin = (t: number) => t - (t % 60_000);
    return [floorMin(start), Math.min(floorMin(end), floorMin(now))];
  }

  updated(type: string, startS: string | undefined, endS: string | undefined, now: number): { ids: string[]; latestDateCovered: number } {
    const t = this.table(type);
    const [start, end] = this.window(startS, endS, 30, now);
    const entries = t.byModstamp();
    const ids: string[] = [];
    for (let i = Table.lowerBound(entries, start); i < entries.length && entries[i].stamp < end; i++) {
      if (!entries[i].rec.IsDeleted) ids.push(entries[i].rec.Id);
      if (ids.length >= 600_000) throw new ApiError(400, 'EXCEEDED_ID_LIMIT', 'too many results: narrow the window');
    }
    return { ids, latestDateCovered: end };
  }

  deleted(type: string, startS: string | undefined, endS: string | undefined, now: number): { deletedRecords: Array<{ id: string; deletedDate: number }>; earliestDateAvailable: number; latestDateCovered: number } {
    const t = this.table(type);
    const [start, end] = this.window(startS, endS, 15, now);
    const out: Array<{ id: string; deletedDate: number }> = [];
    let earliest = Math.max(this.createdAt, now - 15 * DAY);
    for (const rec of t.byId.values()) {
      const at = rec.$deletedAt as number | undefined;
      if (!rec.IsDeleted || at === undefined) continue;
      earliest = Math.min(earliest, at);
      if (at >= start && at < end) out.push({ id: rec.Id, deletedDate: at });
    }
    out.sort((a, b) => a.deletedDate - b.deletedDate || (a.id < b.id ? -1 : 1));
    return { deletedRecords: out, earliestDateAvailable: earliest - (earliest % 60_000), latestDateCovered: end };
  }
}

/** Collected rollbacks of one transaction (allOrNone). */
export class Undo {
  private readonly steps: Array<() => void> = [];
  push(step: () => void): void {
    this.steps.push(step);
  }
  rollback(): void {
    for (const s of this.steps.reverse()) s();
    this.steps.length = 0;
  }
  /** Take over another transaction's steps (a nested one that committed into this one). */
  adopt(other: Undo): void {
    this.steps.push(...other.steps);
    other.steps.length = 0;
  }
}

export class MultipleMatches extends Error {
  constructor(readonly ids: string[]) {
    super(`More than one record found for the external id: ${ids.join(', ')}`);
  }
}
