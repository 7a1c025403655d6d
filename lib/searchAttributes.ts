/**
 * Custom search attributes cosell's workflows set, so ops can filter links and registrations in the
 * Temporal Web UI. Registered when cosell starts a dev server; on a real cluster, register them once
 * with `temporal operator search-attribute create` (see README).
 */
export const SEARCH_ATTRIBUTES = {
  CosellKind: 'Keyword', // link | registration | overlap | hello
  CosellLink: 'Keyword',
  CosellPartner: 'Keyword',
  CosellObject: 'Keyword',
  CosellState: 'Keyword',
  CosellRegistrationStatus: 'Keyword',
} as const;

export type CosellSearchAttribute = keyof typeof SEARCH_ATTRIBUTES;

export function searchAttributeArgs(): string[] {
  return Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}
