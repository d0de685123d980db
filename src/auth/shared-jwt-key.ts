import { JwtTokens } from './jwt-tokens.ts';
import type { JwtKeys } from './jwt-keys.ts';
import { ed25519SeedToPkcs8 } from './pem.ts';
import type { MaybePromise, TokenGrant, TokenInfo, TokenProvider } from './tokens.ts';
import type { SharedJwtKey } from './types.ts';

/**
 * The default when auth is on and --auth-token is not given: JWTs signed with a key that the
 * members share through the log. The member that proposes an auth enable draws a fresh key and
 * puts it in the entry; the store adopts it when that entry turns auth on (every member applies
 * the same entry, so every member adopts the same key) and keeps it in its snapshot. So a new
 * member, a restarted one and one restored from a snapshot all have it, and an operator has no
 * key files to distribute. Disabling and enabling auth again rotates the key.
 *
 * Ed25519 because its private key is just 32 random bytes (nothing to generate but randomness,
 * which is handed in), signing and verifying are fast, and a public key can be given to a
 * verifier that must not sign (a proxy tier). Not etcd-compatible as a flag (etcd 3.4 refuses
 * EdDSA), but no client reads a token: they pass it back.
 *
 * The seed is a secret kept in the raft log, the snapshots and the auth tables: whoever reads
 * those can mint tokens, as whoever reads them can read every key anyway.
 */

const b64url = (bytes: Uint8Array): string => {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

const fromB64url = (s: string): Uint8Array => {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};

/** A new shared key from the caller's randomness (crypto.getRandomValues in the member). */
export function generateSharedJwtKey(random: (n: number) => Uint8Array): SharedJwtKey {
  const seed = random(32);
  const kid = random(9);
  if (seed.length !== 32 || kid.length !== 9) throw new Error('random source returned the wrong number of bytes');
  return { alg: 'EdDSA', kid: b64url(kid), seed: b64url(seed) };
}

/** The signing and verifying keys of a shared key. */
export async function sharedJwtKeys(key: SharedJwtKey): Promise<JwtKeys> {
  const signKey = await crypto.subtle.importKey('pkcs8', ed25519SeedToPkcs8(fromB64url(key.seed)) as BufferSource, { name: 'Ed25519' }, true, ['sign']);
  const { x } = await crypto.subtle.exportKey('jwk', signKey);
  const verifyKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x }, { name: 'Ed25519' }, true, ['verify']);
  return { alg: 'EdDSA', kid: key.kid, signKey, verifyKey };
}

/** The public half as a JWK, for a verifier that must not sign. */
export async function sharedJwtPublicJwk(key: SharedJwtKey): Promise<JsonWebKey & { kid: string }> {
  const keys = await sharedJwtKeys(key);
  return { ...(await crypto.subtle.exportKey('jwk', keys.verifyKey as CryptoKey)), kid: key.kid, alg: 'EdDSA' };
}

/**
 * JWT tokens that follow the store's shared key: `currentKey` is read on every call, and the
 * keys are rebuilt (once, asynchronously) when it changes, so a rotation on one member's apply
 * is seen at the next token issued or checked there.
 */
export class SharedKeyTokens implements TokenProvider {
  readonly type = 'jwt';
  readonly assignOnEveryMember = false;
  /** `ready` is set once the keys are imported, so that a cached token is answered without a promise. */
  private current: { kid: string; tokens: Promise<JwtTokens>; ready?: JwtTokens } | undefined;

  constructor(
    private readonly currentKey: () => SharedJwtKey | undefined,
    private readonly ttlMs: number,
    private readonly cacheSize = 10_000,
  ) {}

  private tokens(): { tokens: Promise<JwtTokens>; ready?: JwtTokens } | undefined {
    const key = this.currentKey();
    if (!key) return undefined;
    if (this.current?.kid !== key.kid) {
      const entry: { kid: string; tokens: Promise<JwtTokens>; ready?: JwtTokens } = {
        kid: key.kid,
        tokens: sharedJwtKeys(key).then((k) => (entry.ready = new JwtTokens(k, this.ttlMs, this.cacheSize))),
      };
      this.current = entry;
    }
    return this.current;
  }

  async assign(grant: TokenGrant, now: number): Promise<string> {
    const t = this.tokens();
    if (!t) throw new Error('auth has no shared JWT key: the auth enable that turned it on carried none');
    return (await t.tokens).assign(grant, now);
  }

  info(token: string, now: number): MaybePromise<TokenInfo | undefined> {
    const t = this.tokens();
    if (!t) return undefined;
    if (t.ready) return t.ready.info(token, now);
    return t.tokens.then((ready) => ready.info(token, now));
  }

  disable(): void {}
  invalidateUser(): void {}
}
