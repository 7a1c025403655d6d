import { childRelationshipsOf, describeField, MASTER_RECORD_TYPE_ID, type FieldDef, type ObjectDef } from './schema.js';

/**
 * `GET /sobjects/{type}/describe/layouts` (and `/describe/layouts/{recordTypeId}`): one page layout per
 * object — the only one of an org that assigns none — with every key a real layout describe has, so
 * clients that read them (the Salesforce CLI, UI generators) find what they index. Its sections: the
 * object's own fields two to a row (audit fields in a "System Information" section), the related lists
 * from its child relationships, the record type mapping of the Master record type with the picklist
 * values of each picklist field. Buttons, quick actions and feed views are empty.
 */

const AUDIT = new Set(['createdbyid', 'createddate', 'lastmodifiedbyid', 'lastmodifieddate', 'systemmodstamp']);
const layoutIdOf = (o: ObjectDef) => `00h${o.keyPrefix}000000${'AAA'}`.padEnd(18, '0').slice(0, 18);

function item(f: FieldDef | undefined, tab: number, editable: boolean) {
  if (!f) return { editableForNew: false, editableForUpdate: false, label: '', layoutComponents: [], placeholder: true, required: false };
  return {
    editableForNew: editable && f.createable,
    editableForUpdate: editable && f.updateable,
    label: f.label,
    layoutComponents: [{ details: describeField(f), displayLines: 1, tabOrder: tab, type: 'Field', value: f.name }],
    placeholder: false,
    required: !f.nillable && f.createable && !f.defaultedOnCreate,
  };
}

function section(o: ObjectDef, heading: string, fields: FieldDef[], id: string, editable: boolean) {
  const rows = [];
  for (let i = 0; i < fields.length; i += 2) {
    const layoutItems = [item(fields[i], i + 1, editable), item(fields[i + 1], i + 2, editable)];
    rows.push({ layoutItems, numItems: layoutItems.length });
  }
  return {
    collapsed: false, columns: 2, heading, layoutRows: rows, layoutSectionId: id, parentLayoutId: layoutIdOf(o),
    rows: rows.length, tabOrder: 'TopToBottom', useCollapsibleSection: false, useHeading: true,
  };
}

export function describeLayout(o: ObjectDef, all: ObjectDef[], version: string): Record<string, unknown> {
  const fields = o.order.map((n) => o.fields.get(n.toLowerCase())!).filter((f) => f.name !== 'Id' && f.name !== 'IsDeleted');
  const own = fields.filter((f) => !AUDIT.has(f.name.toLowerCase()));
  const audit = fields.filter((f) => AUDIT.has(f.name.toLowerCase()));
  const sections = (editable: boolean) => [
    section(o, `${o.label} Information`, own, `01B${o.keyPrefix}00000001`, editable),
    ...(editable ? [] : [section(o, 'System Information', audit, `01B${o.keyPrefix}00000002`, false)]),
  ];
  const relatedLists = childRelationshipsOf(o, all).filter((c) => c.relationshipName).map((c) => {
    const child = all.find((x) => x.name === c.childSObject)!;
    const name = child.fields.get('name');
    return {
      accessLevelRequiredForCreate: null, buttons: [], columns: name ? [{ field: `${child.name}.Name`, fieldApiName: 'Name', format: null, label: name.label, lookupId: null, name: 'Name', sortable: true }] : [],
      custom: child.custom, field: c.field, label: child.labelPlural, limitRows: 5, name: c.relationshipName, sobject: child.name, sort: [],
    };
  });
  return {
    buttonLayoutSection: { detailButtons: [] },
    detailLayoutSections: sections(false),
    editLayoutSections: sections(true),
    feedView: null,
    highlightsPanelLayoutSection: null,
    id: layoutIdOf(o),
    multirowEditLayoutSections: [],
    offlineLinks: [],
    quickActionList: { quickActionListItems: [] },
    relatedContent: null,
    relatedLists,
    saveOptions: [],
    urls: { layout: `/services/data/${version}/sobjects/${o.name}/describe/layouts/${MASTER_RECORD_TYPE_ID}` },
  };
}

export function recordTypeMapping(o: ObjectDef, version: string): Record<string, unknown> {
  const picklists = o.order.map((n) => o.fields.get(n.toLowerCase())!).filter((f) => f.type === 'picklist' || f.type === 'multipicklist');
  return {
    active: true, available: true, defaultRecordTypeMapping: true, developerName: 'Master', layoutId: layoutIdOf(o), master: true, name: 'Master',
    picklistsForRecordType: picklists.map((f) => ({
      picklistName: f.name,
      picklistValues: f.picklistValues.map((p) => ({ active: p.active, defaultValue: p.defaultValue, label: p.label, validFor: null, value: p.value })),
    })),
    recordTypeId: MASTER_RECORD_TYPE_ID,
    urls: { layout: `/services/data/${version}/sobjects/${o.name}/describe/layouts/${MASTER_RECORD_TYPE_ID}` },
  };
}

/** The whole `describe/layouts` answer. */
export function describeLayouts(o: ObjectDef, all: ObjectDef[], version: string): Record<string, unknown> {
  return { layouts: [describeLayout(o, all, version)], recordTypeMappings: [recordTypeMapping(o, version)], recordTypeSelectorRequired: [false] };
}
