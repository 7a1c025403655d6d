/**
 * Static types of expressions, as bit sets so a value that may be "text or null" is one mask.
 * Dates and datetimes are text at run time but distinct statically, so `CloseDate: closedate_text`
 * is caught and the admin is told to write `date(...)`.
 */
import type { FieldType } from '../../connectors/types.js';

export const T = {
  text: 1,
  number: 2,
  boolean: 4,
  date: 8,
  datetime: 16,
  null: 32,
  list: 64,
  object: 128,
} as const;

export type Mask = number;
export const ANY: Mask = 255;
export const TEXTUAL: Mask = T.text | T.date | T.datetime;
export const SCALAR: Mask = T.text | T.number | T.boolean | T.date | T.datetime | T.null;

export function describeMask(m: Mask): string {
  if ((m & ANY) === ANY) return 'any';
  const names = (Object.keys(T) as Array<keyof typeof T>).filter((k) => (m & T[k]) !== 0);
  return names.length === 0 ? 'nothing' : names.join(' or ');
}

/** Static type of a source field's value after the read coercion in compile.ts (always nullable). */
export function maskOfField(t: FieldType): Mask {
  switch (t) {
    case 'number':
    case 'currency':
    case 'percent':
      return T.number | T.null;
    case 'boolean':
      return T.boolean | T.null;
    case 'date':
      return T.date | T.null;
    case 'datetime':
      return T.datetime | T.null;
    default:
      return T.text | T.null;
  }
}

/** What a target field of this type accepts (null always: it clears the field): what its reads yield, plus
 * dates into datetimes, lists into multi-picklists and any textual value into text. */
export function acceptedByTarget(t: FieldType): Mask {
  switch (t) {
    case 'datetime':
      return maskOfField(t) | T.date;
    case 'multipicklist':
      return T.text | T.list | T.null;
    case 'number':
    case 'currency':
    case 'percent':
    case 'boolean':
    case 'date':
      return maskOfField(t);
    default:
      return TEXTUAL | T.null;
  }
}

export function conversionHint(t: FieldType, got: Mask): string | undefined {
  switch (t) {
    case 'number':
    case 'currency':
    case 'percent':
      return 'convert with number(...)';
    case 'date':
      return 'convert with date(...)';
    case 'datetime':
      return 'convert with datetime(...)';
    case 'boolean':
      return 'write a comparison, e.g. x == "true"';
    default:
      if (got & T.number) return 'convert with string(...) or format(...)';
      if (got & T.list) return 'convert with join(...)';
      return undefined;
  }
}
