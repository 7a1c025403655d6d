import { createHash, randomBytes } from 'node:crypto';

/**
 * Access tokens of one portal. The configured token behaves like a private-app token (no lifetime,
 * but invalidated by the `expireTokensNow` fault like every other token); tokens minted by the OAuth
 * refresh_token grant expire after `tokenTtlMs`, as OAuth access tokens do.
 */
export interface PortalCredentials {
  accessToken: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export type TokenCheck = { ok: true } | { ok: false; reason: 'missing' | 'invalid' } | { ok: false; reason: 'expired'; expiredAgoMs: number };

interface TokenInfo {
  expiresAt: number;
  epoch: number;
  issuedAt: number;
}

export function deterministicHex(seed: string, len: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, len);
}

export function defaultCredentials(orgId: string, given: Record<string, string> = {}): PortalCredentials {
  const h = (salt: string) => deterministicHex(`cosell-sandbox:${orgId}:${salt}`, 32);
  const uuidish = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return {
    accessToken: given.accessToken ?? `pat-na1-${uuidish(h('token'))}`,
    clientId: given.clientId ?? uuidish(h('client')),
    clientSecret: given.clientSecret ?? uuidish(h('secret')),
    refreshToken: given.refreshToken ?? `na1-${h('refresh').slice(0, 4)}-${uuidish(h('refresh2'))}`,
  };
}

export class TokenStore {
  private readonly tokens = new Map<string, TokenInfo>();

  constructor(readonly credentials: PortalCredentials) {
    this.tokens.set(credentials.accessToken, { expiresAt: Infinity, epoch: 0, issuedAt: 0 });
  }

  check(header: string | undefined, now: number, epoch: number): TokenCheck {
    const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!m) return { ok: false, reason: 'missing' };
    const info = this.tokens.get(m[1]);
    if (!info) return { ok: false, reason: 'invalid' };
    if (info.epoch < epoch) return { ok: false, reason: 'expired', expiredAgoMs: Math.max(0, now - info.issuedAt) };
    if (now >= info.expiresAt) return { ok: false, reason: 'expired', expiredAgoMs: now - info.expiresAt };
    return { ok: true };
  }

  /** Mint a new OAuth access token. */
  issue(now: number, ttlMs: number, epoch: number): { token: string; expiresInSec: number } {
    const token = `CO${randomBytes(45).toString('base64url')}`;
    this.tokens.set(token, { expiresAt: now + ttlMs, epoch, issuedAt: now });
    // Forget long-dead tokens so a long demo does not grow without bound (they answer "invalid" then).
    if (this.tokens.size > 10_000) {
      for (const [t, i] of this.tokens) if (i.expiresAt < now - 86_400_000 || i.epoch < epoch - 1) this.tokens.delete(t);
    }
    return { token, expiresInSec: Math.round(ttlMs / 1000) };
  }

  info(token: string): TokenInfo | undefined {
    return this.tokens.get(token);
  }
}
