import { Client } from '@hubspot/api-client';
import { resolveSecret, type SecretRef } from '../../lib/secrets.js';
import { registerSecret } from '../../lib/logger.js';
import { mapOauthError } from './errors.js';

export type HubspotAuthConfig =
  | { accessToken: SecretRef }
  | { clientId: SecretRef; clientSecret: SecretRef; refreshToken: SecretRef };

/**
 * Hands out the bearer token for each call. Private-app tokens are fixed; OAuth access tokens are
 * obtained from the refresh token at `/oauth/v1/token`, renewed shortly before they expire and again
 * whenever HubSpot answers 401. Secret values are registered with the logger (scrubbed) and never logged.
 */
export interface TokenProvider {
  token(): Promise<string>;
  /** After a 401: get a new token if this auth mode can; false when it cannot (private-app token). */
  refresh(rejected: string): Promise<boolean>;
}

export function createTokenProvider(auth: HubspotAuthConfig, basePath: string | undefined, where: string, now: () => number = Date.now): TokenProvider {
  if ('accessToken' in auth) {
    const value = resolveSecret(auth.accessToken, `${where}.auth.accessToken`);
    return { token: async () => value, refresh: async () => false };
  }
  const clientId = resolveSecret(auth.clientId, `${where}.auth.clientId`);
  const clientSecret = resolveSecret(auth.clientSecret, `${where}.auth.clientSecret`);
  let refreshToken = resolveSecret(auth.refreshToken, `${where}.auth.refreshToken`);
  let current: { value: string; expiresAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  // A separate client without our middleware: the token endpoint has its own error shape and no budget.
  const oauth = new Client(basePath ? { basePath } : {});

  const fetchToken = async (): Promise<string> => {
    try {
      const r = await oauth.oauth.tokensApi.create('refresh_token', undefined, undefined, clientId, clientSecret, refreshToken);
      registerSecret(r.accessToken);
      if (r.refreshToken && r.refreshToken !== refreshToken) {
        registerSecret(r.refreshToken);
        refreshToken = r.refreshToken;
      }
      // Renew a minute early so no call goes out with a token about to lapse.
      current = { value: r.accessToken, expiresAt: now() + Math.max(0, (r.expiresIn ?? 1800) - 60) * 1000 };
      return r.accessToken;
    } catch (e) {
      throw mapOauthError(e);
    }
  };
  const renew = () => (inflight ??= fetchToken().finally(() => (inflight = undefined)));

  return {
    async token() {
      if (current && current.expiresAt > now()) return current.value;
      return renew();
    },
    async refresh(rejected) {
      // Several calls may see the same 401: only the first renews, the others reuse its token.
      if (current && current.value !== rejected && current.expiresAt > now()) return true;
      current = undefined;
      await renew();
      return true;
    },
  };
}
