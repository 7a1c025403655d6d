/**
 * Schema snapshots: an ObjectSchema (the connectors' normalised describe) saved as JSON, so mappings
 * can be validated offline. `cosell mapping validate --schema FILE` and `source.schema:` use these.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ObjectSchema } from '../connectors/types.js';

const fieldTypes = ['id', 'string', 'text', 'number', 'currency', 'percent', 'date', 'datetime', 'boolean', 'picklist', 'multipicklist', 'reference'] as const;

export const objectSchemaSchema = z.object({
  name: z.string().min(1),
  label: z.string(),
  fields: z.record(
    z.string(),
    z.object({
      name: z.string(),
      label: z.string(),
      type: z.enum(fieldTypes),
      nativeType: z.string(),
      required: z.boolean(),
      unique: z.boolean(),
      externalId: z.boolean(),
      createable: z.boolean(),
      updateable: z.boolean(),
      length: z.number().int().positive().optional(),
      picklistValues: z.array(z.string()).optional(),
      restrictedPicklist: z.boolean().optional(),
      referenceTo: z.array(z.string()).optional(),
    }),
  ),
});

export type SnapshotResult = { schema: ObjectSchema; error?: undefined } | { schema?: undefined; error: string };

export function readSchemaSnapshot(file: string): SnapshotResult {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return { error: `cannot read schema snapshot ${file}: ${(e as Error).message}` };
  }
  const r = objectSchemaSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { error: `${file} is not an ObjectSchema snapshot: ${issue.path.join('.')}: ${issue.message}` };
  }
  for (const [key, f] of Object.entries(r.data.fields)) {
    if (key !== f.name) return { error: `${file}: field key "${key}" and its name "${f.name}" differ` };
  }
  return { schema: r.data as ObjectSchema };
}
