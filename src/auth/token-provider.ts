import type { AuthStore } from './auth-store.ts';
import { JwtTokens } from './jwt-tokens.ts';
import { loadJwtKeys } from './jwt-keys.ts';
import { SharedKeyTokens } from './shared-jwt-key.ts';
import { SimpleTokens } from './simple-tokens.ts';
import { JWT_DEFAULT_TTL_MS, type AuthTokenFlag } from './token-flag.ts';
import { NoTokens, type TokenProvider } from './tokens.ts';

/**
 * The member's token provider for its --auth-token setting, wired to the store so that
 * deletions, password changes and auth disable reach it. `flag` undefined means the flag was not
 * given: JWTs with the key shared through the log (then every auth enable the member proposes
 * must carry generateSharedJwtKey(...)). `keyFiles` are the contents of the files the flag names.
 */
export async function createTokenProvider(opts: {
  store: AuthStore;
  flag?: AuthTokenFlag;
  keyFiles?: { privateKey?: Uint8Array; publicKey?: Uint8Array };
  /** --auth-token-ttl, for simple tokens */
  simpleTtlMs?: number;
  /** verified JWTs kept in memory */
  cacheSize?: number;
}): Promise<TokenProvider> {
  const { store, flag } = opts;
  let provider: TokenProvider;
  if (!flag) provider = new SharedKeyTokens(() => store.tokenKey, JWT_DEFAULT_TTL_MS, opts.cacheSize);
  else if (flag.type === 'simple') provider = new SimpleTokens(opts.simpleTtlMs);
  else if (flag.type === 'none') provider = new NoTokens();
  else provider = new JwtTokens(await loadJwtKeys(flag.signMethod, opts.keyFiles ?? {}), flag.ttlMs, opts.cacheSize);
  store.setTokenLifecycle(provider);
  return provider;
}
