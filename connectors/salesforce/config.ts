import type { SecretRef } from '../../lib/secrets.js';
import type { RetryPolicy } from '../retry.js';

/**
 * How to reach one Salesforce org. The shape of `auth` picks the OAuth flow (it matches the org
 * `connection.auth` of the network file, lib/config.ts):
 * - `{ accessToken }`                                   a plain access token (no re-auth possible)
 * - `{ clientId, clientSecret }`                        client credentials (integration user)
 * - `{ clientId, clientSecret?, refreshToken }`         refresh token
 * - `{ clientId, username, privateKey }`                JWT bearer, signed RS256 here
 * - `{ clientId, clientSecret, username, password }`    username-password (deprecated; sandboxes only)
 * Every credential is a SecretRef (env:NAME / file:PATH), resolved when the connector is built.
 */
export type SalesforceAuth =
  | { accessToken: SecretRef }
  | { clientId: SecretRef; clientSecret: SecretRef; refreshToken?: undefined }
  | { clientId: SecretRef; clientSecret?: SecretRef; refreshToken: SecretRef }
  | { clientId: SecretRef; username: string; privateKey: SecretRef; audience?: string }
  | { clientId: SecretRef; clientSecret: SecretRef; username: string; password: SecretRef };

export interface SalesforceConnectorConfig {
  kind: 'salesforce';
  /** cosell's id for the org (the rate budget is shared per org id within a process). */
  orgId: string;
  /** The org's instance (My Domain) URL, e.g. https://acme.my.salesforce.com. */
  instanceUrl: string;
  /** Token endpoint host; defaults to instanceUrl. */
  loginUrl?: string;
  apiVersion?: string; // default 62.0
  auth: SalesforceAuth;
  /** Pause when this share of the daily API allocation is used (default 0.8). */
  dailyPauseAt?: number;
  /** While paused for quota, probe again after this long (default 15 min). */
  quotaRecheckMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout (default 120 s). */
  requestTimeoutMs?: number;
  /** Default change-feed page size (200..2000, default 2000). */
  pageSize?: number;
  feed?: {
    /**
     * Re-read this far back (worker clock) after each scan, for records of long transactions that
     * commit with an older SystemModstamp. Must cover the longest transaction plus clock skew. Default 5 min.
     */
    lookBackMs?: number;
  };
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export const DEFAULT_API_VERSION = '62.0';
