import { jwtVerify, SignJWT } from 'jose';
import { AuthErrors } from './errors.ts';
import type { JwtKeys } from './jwt-keys.ts';
import type { MaybePromise, TokenGrant, TokenInfo, TokenProvider } from './tokens.ts';
import { VerifiedTokenCache } from './verified-token-cache.ts';

/**
 * etcd's JWT tokens: claims username, revision and exp (seconds), signed with the configured key.
 * Any member holding the key verifies any member's tokens, so nothing is registered on apply.
 *
 * A token is refused unless: its header names the configured alg (so alg "none" and HS256 signed
 * with the public key as secret are refused), its signature verifies with the configured key, it
 * has a numeric exp that has not passed (and its nbf, if any, has), its username is a non-empty
 * string and its revision a non-negative integer. Stricter than etcd 3.4.23, which accepts a
 * token without exp (it never expires), panics on a well-signed token without a username or
 * revision claim (the member crashes), and takes an empty username (then answers "user name is
 * empty" or "permission denied").
 */
export class JwtTokens implements TokenProvider {
  readonly type = 'jwt';
  readonly assignOnEveryMember = false;
  private readonly cache: VerifiedTokenCache;
  /** Verifications under way, so concurrent requests with a new token verify it once. */
  private readonly pending = new Map<string, Promise<TokenInfo | undefined>>();

  constructor(
    private readonly keys: JwtKeys,
    private readonly ttlMs: number,
    cacheSize = 10_000,
  ) {
    this.cache = new VerifiedTokenCache(cacheSize);
  }

  get verifyOnly(): boolean {
    return this.keys.signKey === undefined;
  }

  get alg(): string {
    return this.keys.alg;
  }

  async assign(grant: TokenGrant, now: number): Promise<string> {
    if (!this.keys.signKey) throw AuthErrors.verifyOnly();
    // etcd: time.Now().Add(ttl).Unix(), whole seconds
    const exp = Math.floor((now + this.ttlMs) / 1000);
    return new SignJWT({ username: grant.username, revision: grant.revision, exp })
      .setProtectedHeader({ alg: this.keys.alg, typ: 'JWT', ...(this.keys.kid ? { kid: this.keys.kid } : {}) })
      .sign(this.keys.signKey);
  }

  info(token: string, now: number): MaybePromise<TokenInfo | undefined> {
    const hit = this.cache.get(token, now);
    if (hit) return hit;
    let p = this.pending.get(token);
    if (!p) {
      p = this.verify(token, now).finally(() => this.pending.delete(token));
      this.pending.set(token, p);
    }
    return p;
  }

  private async verify(token: string, now: number): Promise<TokenInfo | undefined> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.keys.verifyKey, { algorithms: [this.keys.alg], currentDate: new Date(now) }));
    } catch {
      return undefined;
    }
    const { username, revision, exp } = payload;
    if (typeof username !== 'string' || username === '') return undefined;
    if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) return undefined;
    if (typeof exp !== 'number') return undefined;
    const info = { username, revision };
    this.cache.set(token, info, exp);
    return info;
  }

  /** JWTs stay valid across these, as in etcd: the auth revision and the user check refuse them where it matters. */
  disable(): void {}
  invalidateUser(): void {}
}
