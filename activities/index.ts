import os from 'node:os';

/**
 * All activities, built from their dependencies. Activities are thin: they call connectors, mappings,
 * rules and the ledger, which are plain modules with their own tests.
 */
export function createActivities() {
  return {
    async describeWorker(): Promise<string> {
      return `${os.hostname()} (node ${process.version}, pid ${process.pid})`;
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
