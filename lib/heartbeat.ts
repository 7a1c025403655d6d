import { Context } from '@temporalio/activity';

/**
 * Heartbeats for activities. A worker that dies (SIGKILL, OOM, a lost host) stops heartbeating, and
 * Temporal retries its activity after the proxy's `heartbeatTimeout` instead of its whole
 * `startToCloseTimeout` — minutes in which a registration, or a link page waiting on it, sits still.
 * Outside an activity (CLI runs, tests calling the engine directly) both are no-ops.
 */
export function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not in an activity */
  }
}

/** Run `fn`, heartbeating every `everyMs` while it runs (for work that waits on something else). */
export async function beating<T>(fn: () => Promise<T>, everyMs = 3_000): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** The same activities, each heartbeating while it runs (`beating`). */
export function withHeartbeats<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, (...args: never[]) => beating(() => fn(...args))])) as T;
}
