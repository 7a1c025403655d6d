/**
 * The shape of a mapping file (zod 4). The JSON Schema editors use (mappings/mapping.schema.json) is
 * generated from this by `npm run mapping:schema`, so the two never disagree.
 */
import { z } from 'zod';
import { OWNERS } from '../types.js';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const expression = z.string().meta({ description: 'An expression in the mapping language (see mappings/README.md).' });
const owner = z.enum(OWNERS as unknown as ['source', 'target', 'fill-if-blank', 'newest']).meta({
  description:
    'Who wins on a two-way link. source: this mapping always writes; target: written on create only, the target then owns it; fill-if-blank: written only while the target field is empty; newest: the more recently modified record wins.',
});

const side = z.strictObject({
  object: z.string().min(1).meta({ description: 'The CRM object name as the connector describes it: Opportunity, Account, deals, companies…' }),
  schema: z.string().min(1).optional().meta({ description: 'A schema snapshot (JSON ObjectSchema) for offline validation, relative to this file. A live schema from the connector takes precedence.' }),
});

export const fieldSpecSchema = z
  .strictObject({
    value: expression.optional(),
    const: scalar.optional().meta({ description: 'A literal value (use instead of value).' }),
    when: expression.optional().meta({ description: 'Write this field only when the condition is true for the source record.' }),
    owner: owner.optional(),
    default: scalar.optional().meta({ description: 'Used when the value is null.' }),
    allowNewValues: z
      .boolean()
      .optional()
      .meta({
        description:
          'Unrestricted picklist targets only: allow values outside the field\'s value list (the CRM adds them). Without it, a value outside the list is an error, as it is for restricted picklists, which never accept one.',
      }),
  })
  .superRefine((f, ctx) => {
    const n = Number(f.value !== undefined) + Number(f.const !== undefined);
    if (n !== 1) ctx.addIssue({ code: 'custom', message: n === 0 ? 'give the field a value: or a const:' : 'give either value: or const:, not both' });
  });

export const fieldEntrySchema = z.union([expression, z.number(), z.boolean(), z.null(), fieldSpecSchema]).meta({
  description: 'An expression, a literal number/boolean/null, or { value | const, when, owner, default }.',
});

export const mappingFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    mapping: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lower-case letters, digits, dots, dashes and underscores')
      .meta({ description: 'The mapping name, unique in the network.' }),
    description: z.string().optional(),
    source: side.meta({ description: 'The object records are read from.' }),
    target: side.meta({ description: 'The object records are written to.' }),
    match: z
      .strictObject({
        source: z.string().min(1).meta({ description: 'Source field identifying the record (e.g. hs_object_id, Id).' }),
        target: z.string().min(1).meta({ description: 'Target external-id / unique field the upsert matches on.' }),
        key: expression.optional().meta({ description: 'Optional expression for the key value (default: the source field as text), e.g. $partner.id + ":" + hs_object_id.' }),
      })
      .meta({ description: 'The idempotent upsert key.' }),
    filter: expression.optional().meta({ description: 'Only records for which this is true are synced.' }),
    defaults: z.strictObject({ owner: owner.optional() }).optional().meta({ description: 'Defaults for every field.' }),
    fields: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'not a field name'), fieldEntrySchema).meta({ description: 'Target field → how to compute it.' }),
    values: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'value-map names are identifiers'), z.record(z.string(), scalar))
      .optional()
      .meta({ description: 'Value maps, used in expressions as name[key].' }),
  })
  .meta({ title: 'cosell mapping', description: 'A cosell field mapping: how a record of one CRM object becomes a record of another.' });

export type MappingFile = z.infer<typeof mappingFileSchema>;
export type FieldSpec = z.infer<typeof fieldSpecSchema>;

export function mappingJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(mappingFileSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://cosell.dev/schemas/mapping.schema.json' };
}
