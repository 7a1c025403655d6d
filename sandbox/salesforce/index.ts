export { createSalesforceOrg, type SalesforceOrg, type SalesforceSchemaConfig } from './org.js';
export { OPPORTUNITY_STAGES, type CustomFieldMetadata } from './schema.js';
export { makeId, normalizeId } from './ids.js';
export type { ValidationRule } from './data.js';
