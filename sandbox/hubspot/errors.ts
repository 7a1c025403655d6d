import { randomUUID } from 'node:crypto';

/**
 * HubSpot's error bodies. Real shape: `{status: "error", message, correlationId, category,
 * subCategory?, context?, errors?}`; rate-limit bodies carry `errorType`/`policyName` instead of a
 * category. Handlers throw `HubspotHttpError`; the portal's error handler serialises it.
 */
export interface HubspotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category?: string;
  subCategory?: string;
  context?: Record<string, string[]>;
  errors?: Array<{ message: string; code?: string; in?: string; context?: Record<string, string[]> }>;
  [extra: string]: unknown;
}

export class HubspotHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: HubspotErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
    this.name = 'HubspotHttpError';
  }
}

export function errorBody(category: string, message: string, extra: Partial<HubspotErrorBody> = {}): HubspotErrorBody {
  return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
}

export function httpError(statusCode: number, category: string, message: string, extra: Partial<HubspotErrorBody> = {}): HubspotHttpError {
  return new HubspotHttpError(statusCode, errorBody(category, message, extra));
}

export const notFound = (message = 'resource not found', extra: Partial<HubspotErrorBody> = {}) =>
  httpError(404, 'OBJECT_NOT_FOUND', message, extra);

export const validation = (message: string, extra: Partial<HubspotErrorBody> = {}) => httpError(400, 'VALIDATION_ERROR', message, extra);

/** One failed property on a write, in the shape HubSpot embeds in "Property values were not valid: [...]". */
export interface PropertyProblem {
  isValid: false;
  message: string;
  error: string; // PROPERTY_DOESNT_EXIST | INVALID_OPTION | INVALID_INTEGER | INVALID_DATE | READ_ONLY_VALUE ...
  name: string;
  localizedErrorMessage: string;
}

export function propertyProblem(name: string, error: string, message: string): PropertyProblem {
  return { isValid: false, message, error, name, localizedErrorMessage: message };
}

/** The body a real portal answers when one or more property values are invalid. */
export function propertyValidationBody(problems: PropertyProblem[], extra: Partial<HubspotErrorBody> = {}): HubspotErrorBody {
  return errorBody('VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(problems)}`, {
    errors: problems.map((p) => ({ message: p.message, code: p.error, context: { propertyName: [p.name] } })),
    ...extra,
  });
}
