import type { TokenGrant, TokenInfo, TokenProvider } from './tokens.ts';

/** etcd's --auth-token-ttl default: 300 seconds. */
export const SIMPLE_TOKEN_TTL_DEFAULT_MS = 300_000;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const PREFIX_LENGTH = 16;

/**
 * etcd's simple tokens: "<16 random letters>.<raft index of the authenticate entry>". A simple
 * token is a name, not a proof: it is valid where it is registered. So the proposer draws the
 * letters and puts them in the authenticate entry, and every member registers the token when the
 * entry applies (assign), which is how a token issued through one member works on all of them.
 *
 * Each member keeps its own clock for expiry, as etcd does: a token lives `ttlMs` after it was
 * issued or last used (etcd renews it on every use; real etcd 3.4.23 with --auth-token-ttl 2 kept a
 * token alive through uses 1.5 s apart and dropped it after 3.5 s idle). A password change or a
 * user deletion drops the user's tokens, disabling auth drops all. None of this is in snapshots:
 * a restarted member has forgotten every simple token, as etcd has.
 *
 * Before calling info, the member waits until the token's index (indexOf) has applied locally
 * (etcd's indexWaiter), bounded by the request timeout: a token issued through a member that is
 * ahead must not be refused by one that is behind.
 */
export class SimpleTokens implements TokenProvider {
  readonly type = 'simple';
  readonly assignOnEveryMember = true;
  private readonly ttlMs: number;
  private readonly tokens = new Map<string, { username: string; expires: number }>();

  constructor(ttlMs: number = SIMPLE_TOKEN_TTL_DEFAULT_MS) {
    // etcd: a ttl of 0 or less means the default
    this.ttlMs = ttlMs > 0 ? ttlMs : SIMPLE_TOKEN_TTL_DEFAULT_MS;
  }

  /**
   * The 16 letters for an authenticate proposal, from the caller's randomness (crypto.getRandomValues
   * in the member, a seeded source in tests). Rejection sampling keeps the letters uniform.
   */
  static genTokenPrefix(random: (n: number) => Uint8Array): string {
    let out = '';
    while (out.length < PREFIX_LENGTH) {
      for (const b of random(PREFIX_LENGTH)) {
        if (b < 208 && out.length < PREFIX_LENGTH) out += LETTERS[b % 52]; // 208 = 4 * 52
      }
    }
    return out;
  }

  /** The raft index a token names, or undefined when it is not "<prefix>.<index>" (then it is invalid at once). */
  static indexOf(token: string): number | undefined {
    const parts = token.split('.');
    if (parts.length !== 2 || !/^[+-]?\d{1,15}$/.test(parts[1])) return undefined;
    return Number(parts[1]);
  }

  assign(grant: TokenGrant, now: number): string {
    const token = `${grant.simpleToken}.${grant.index}`;
    // etcd panics here; the same prefix at the same index cannot come from two entries.
    if (this.tokens.has(token)) throw new Error(`simple token ${token} is already assigned`);
    this.tokens.set(token, { username: grant.username, expires: now + this.ttlMs });
    return token;
  }

  info(token: string, now: number, authRevision: number): TokenInfo | undefined {
    const t = this.tokens.get(token);
    if (!t) return undefined;
    if (now > t.expires) {
      this.tokens.delete(token);
      return undefined;
    }
    t.expires = now + this.ttlMs;
    return { username: t.username, revision: authRevision };
  }

  /** Drops expired tokens (etcd's keeper does it every second); returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const [token, t] of this.tokens) {
      if (now > t.expires) {
        this.tokens.delete(token);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.tokens.size;
  }

  invalidateUser(username: string): void {
    for (const [token, t] of this.tokens) if (t.username === username) this.tokens.delete(token);
  }

  disable(): void {
    this.tokens.clear();
  }
}
