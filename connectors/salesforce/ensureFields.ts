import { ConnectorError, isConnectorError } from '../errors.js';
import type { FieldSpec, ObjectSchema } from '../types.js';
import type { SalesforceApi } from './api.js';
import { ident } from './soql.js';

/**
 * Custom fields through the Tooling API: `POST /tooling/sobjects/CustomField` with
 * `{FullName: 'Object.Field__c', Metadata: {...}}`. Idempotent: fields already described are
 * skipped, and a DUPLICATE_DEVELOPER_NAME answer (created meanwhile, or by a retried call) counts as done.
 *
 * Note for real orgs: a new field is invisible to the integration user until a permission set grants
 * field-level access to it; the sandbox grants it implicitly.
 */
export function customFieldMetadata(spec: FieldSpec): Record<string, unknown> {
  const base: Record<string, unknown> = { label: spec.label, ...(spec.description ? { description: spec.description } : {}) };
  switch (spec.type) {
    case 'string':
      return { ...base, type: 'Text', length: spec.length ?? 255, unique: spec.unique ?? false, externalId: spec.externalId ?? false, caseSensitive: false };
    case 'text':
      return { ...base, type: 'LongTextArea', length: spec.length ?? 32768, visibleLines: 3 };
    case 'number':
      return { ...base, type: 'Number', precision: 18, scale: 2, unique: spec.unique ?? false, externalId: spec.externalId ?? false };
    case 'currency':
      return { ...base, type: 'Currency', precision: 18, scale: 2 };
    case 'percent':
      return { ...base, type: 'Percent', precision: 5, scale: 2 };
    case 'date':
      return { ...base, type: 'Date' };
    case 'datetime':
      return { ...base, type: 'DateTime' };
    case 'boolean':
      return { ...base, type: 'Checkbox', defaultValue: 'false' };
    case 'picklist':
    case 'multipicklist':
      return {
        ...base,
        type: spec.type === 'picklist' ? 'Picklist' : 'MultiselectPicklist',
        ...(spec.type === 'multipicklist' ? { visibleLines: 4 } : {}),
        valueSet: {
          restricted: true,
          valueSetDefinition: { sorted: false, value: (spec.picklistValues ?? []).map((v) => ({ fullName: v, label: v, default: false })) },
        },
      };
  }
}

export async function ensureCustomFields(api: SalesforceApi, schema: ObjectSchema, specs: FieldSpec[]): Promise<string[]> {
  const object = ident(schema.name);
  const created: string[] = [];
  for (const spec of specs) {
    if (schema.fields[spec.name]) continue;
    if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(spec.name) || spec.name.includes('___')) {
      throw new ConnectorError('validation', `custom field names on Salesforce end in __c (got ${JSON.stringify(spec.name)})`, { fields: [spec.name] });
    }
    try {
      await api.request('ensureFields', {
        method: 'POST',
        url: '/tooling/sobjects/CustomField',
        body: { FullName: `${object}.${spec.name}`, Metadata: customFieldMetadata(spec) },
      });
      created.push(spec.name);
    } catch (e) {
      if (isConnectorError(e, 'conflict')) continue; // DUPLICATE_DEVELOPER_NAME: it exists already
      throw e;
    }
  }
  return created;
}
