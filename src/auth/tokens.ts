import type { EtcdError } from '../errors.ts';
import type { TokenLifecycle } from './auth-store.ts';
import { AuthErrors } from './errors.ts';
import type { AuthInfo } from './types.ts';

/** Who a valid token speaks for, and the auth revision it carries. */
export type TokenInfo = AuthInfo;

/** What an applied authenticate entry hands to the provider. */
export interface TokenGrant {
  username: string;
  /** The auth revision when the entry applied: a JWT carries it, and is refused once it is old. */
  revision: number;
  /** The raft index of the authenticate entry: the number after the dot of a simple token. */
  index: number;
  /** The random prefix the proposer drew (SimpleTokens.genTokenPrefix); '' for JWT. */
  simpleToken: string;
}

export type MaybePromise<T> = T | Promise<T>;

/**
 * etcd's TokenProvider, with time handed in (ms since the epoch) and no timers.
 *
 * - assign: for simple tokens it runs on every member when the authenticate entry applies (it
 *   registers the token there; `assignOnEveryMember` is true) and returns at once; for JWT it runs
 *   only on the member that answers the client, after the apply, and is async (signing).
 * - info: undefined for an invalid or expired token. `authRevision` is the store's revision now,
 *   which a simple token reports as its own (simple tokens carry none, so they are never "old").
 *   A JWT answer may be a promise the first time a token is seen (verification), then comes from
 *   a cache as a plain value.
 */
export interface TokenProvider extends TokenLifecycle {
  readonly type: 'simple' | 'jwt' | 'none';
  readonly assignOnEveryMember: boolean;
  assign(grant: TokenGrant, now: number): MaybePromise<string>;
  info(token: string, now: number, authRevision: number): MaybePromise<TokenInfo | undefined>;
}

/**
 * etcd's check that a token is not older than the auth state it is used against. The store's
 * permission checks make it already (isRangePermitted and the others); this is for callers that
 * check a token without a permission check.
 */
export function checkTokenRevision(ai: AuthInfo, authRevision: number): EtcdError | undefined {
  return ai.revision !== 0 && ai.revision < authRevision ? AuthErrors.authOldRevision() : undefined;
}

/**
 * etcd's doSerialize re-check: a serializable read checks permissions, reads, then refuses the
 * answer if the auth revision moved meanwhile (note: `!=`, so a token from a member that is ahead
 * is refused too, as etcd does), because the permissions it was checked against may be gone.
 */
export function checkRevisionAfterRead(ai: AuthInfo, authRevision: number): EtcdError | undefined {
  return ai.revision !== 0 && ai.revision !== authRevision ? AuthErrors.authOldRevision() : undefined;
}

/** etcd's provider for --auth-token '': no token is ever issued or accepted. */
export class NoTokens implements TokenProvider {
  readonly type = 'none';
  readonly assignOnEveryMember = false;
  assign(): string {
    throw AuthErrors.authFailed();
  }
  info(): undefined {
    return undefined;
  }
  disable(): void {}
  invalidateUser(): void {}
}
