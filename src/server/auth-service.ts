import { randomBytes } from 'node:crypto';
import {
  type AuthInfo,
  type AuthRequest,
  type AuthResult,
  AuthStore,
  bcryptCostOrDefault,
  checkRange,
  checkRevisionAfterRead,
  generateSharedJwtKey,
  hashPassword,
  NO_AUTH,
  SimpleTokens,
  type TokenProvider,
  verifyPassword,
  type KeyRange,
} from '../auth/index.ts';
import { Errors } from '../errors.ts';
import type { Clock } from './clock.ts';
import type { Answer } from './proposals.ts';
import type { RaftRequest } from './raft-request.ts';

export interface AuthServiceOptions {
  store: AuthStore;
  clock: Clock;
  propose(req: Omit<RaftRequest, 'id'>): Promise<Answer<unknown>>;
  readBarrier(): Promise<void>;
  /** Resolves once this member applied up to index. */
  waitApplied(index: number): Promise<void>;
  /** --bcrypt-cost. */
  bcryptCost?: number;
  /** Auth enable carries a new shared JWT key (no --auth-token given: JWT is the default). */
  sharedKey: boolean;
  requestTimeoutMs: number;
}

/** What an auth entry answers, with the auth revision after it (every auth answer's header carries it). */
export type AuthAnswer = AuthResult & { token?: string };

/**
 * The member's auth face: tokens in, who is asking out; every change and (as etcd 3.4) every auth
 * read through the log, with the asker in the entry's header so every member checks the same
 * identity; passwords hashed before they are proposed, so the log never holds one.
 */
export class AuthService {
  private provider: TokenProvider | undefined;

  constructor(private readonly o: AuthServiceOptions) {}

  /** The token provider, once the member has made it (it may need key files). */
  setProvider(p: TokenProvider): void {
    this.provider = p;
  }

  /** Now and then: simple tokens past their TTL are forgotten. */
  tick(): void {
    const p = this.provider as (TokenProvider & { sweep?: (now: number) => number }) | undefined;
    p?.sweep?.(this.o.clock.now());
  }

  get tokens(): TokenProvider | undefined {
    return this.provider;
  }

  get store(): AuthStore {
    return this.o.store;
  }

  get enabled(): boolean {
    return this.o.store.enabled;
  }

  get revision(): number {
    return this.o.store.revision;
  }

  /**
   * Who a request's token speaks for: NO_AUTH without a token; etcd's "invalid auth token" for one
   * that does not verify (even with auth off, as etcd 3.4.23 answers).
   */
  async authInfo(token: string | undefined): Promise<AuthInfo> {
    if (!token) return NO_AUTH;
    const p = this.provider;
    if (!p) throw Errors.invalidAuthToken();
    // A simple token is known on this member once its authenticate entry applied here.
    const index = p.type === 'simple' ? SimpleTokens.indexOf(token) : undefined;
    if (p.type === 'simple') {
      if (index === undefined) throw Errors.invalidAuthToken();
      await Promise.race([this.o.waitApplied(index), new Promise((r) => this.o.clock.setTimeout(r as () => void, this.o.requestTimeoutMs))]);
    }
    const info = await p.info(token, this.o.clock.now(), this.o.store.revision);
    if (!info) throw Errors.invalidAuthToken();
    return info;
  }

  /**
   * etcd's AuthInfoFromTLS: with auth on, a request with no token but a verified client
   * certificate speaks for the user its common name names, at the current auth revision.
   */
  fromCertificate(commonName: string): AuthInfo | undefined {
    return this.o.store.enabled ? { username: commonName, revision: this.o.store.revision } : undefined;
  }

  /** The read check of a range (or a watch), with auth on; throws etcd's error. */
  checkRead(ai: AuthInfo, r: KeyRange): void {
    if (!this.o.store.enabled) return;
    const denied = checkRange(this.o.store, ai, r);
    if (denied) throw denied;
  }

  /** etcd's re-check after a serializable read: the permissions it was checked against still hold. */
  checkAfterRead(ai: AuthInfo): void {
    if (!this.o.store.enabled) return;
    const stale = checkRevisionAfterRead(ai, this.o.store.revision);
    if (stale) throw stale;
  }

  /** Whether ai may administer (membership, maintenance, alarms): root, or anyone while auth is off. */
  checkAdmin(ai: AuthInfo): void {
    if (!this.o.store.enabled) return;
    const denied = this.o.store.isAdminPermitted(ai);
    if (denied) throw denied;
  }

  /** etcd's Authenticate: checks the password here, then goes through the log; answers a token. */
  async authenticate(name: string, password: string): Promise<string> {
    const cost = bcryptCostOrDefault(this.o.bcryptCost);
    const p = this.provider;
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.o.readBarrier();
      const checkedAt = await verifyPassword(this.o.store, name, password, cost);
      const simpleToken = p?.type === 'simple' ? SimpleTokens.genTokenPrefix((n) => new Uint8Array(randomBytes(n))) : '';
      const { resp } = (await this.o.propose({ auth: { authenticate: { name, simpleToken } } })) as Answer<AuthAnswer & { index?: number }>;
      // The password may have changed between the check and the entry: check again (etcd's loop).
      if (checkedAt !== this.o.store.revision && resp.authenticated?.revision !== checkedAt) continue;
      if (resp.token) return resp.token;
      if (!p || !resp.authenticated) throw Errors.authFailed();
      return await p.assign({ ...resp.authenticated, index: resp.index ?? 0, simpleToken }, this.o.clock.now());
    }
    throw Errors.authFailed();
  }

  /** Any other auth request, through the log as `ai`; passwords are hashed here first. */
  async request(ai: AuthInfo, req: AuthRequest & { userAdd?: { name: string; password?: string }; userChangePassword?: { name: string; password?: string } }): Promise<AuthAnswer> {
    const cost = bcryptCostOrDefault(this.o.bcryptCost);
    const r: AuthRequest = { ...req };
    const add = req.userAdd as { name: string; password?: string; hashedPassword?: string } | undefined;
    if (add && add.password !== undefined) r.userAdd = { name: add.name, hashedPassword: add.name === '' ? '' : await hashPassword(add.password, cost) };
    const change = req.userChangePassword as { name: string; password?: string; hashedPassword?: string } | undefined;
    if (change && change.password !== undefined) r.userChangePassword = { name: change.name, hashedPassword: await hashPassword(change.password, cost) };
    if (r.authEnable && this.o.sharedKey) r.authEnable = { tokenKey: generateSharedJwtKey((n) => new Uint8Array(randomBytes(n))) };
    const { resp } = await this.o.propose({ auth: r, header: { username: ai.username, authRevision: ai.revision } });
    return resp as AuthAnswer;
  }
}

export { AuthStore };
