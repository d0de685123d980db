import { AuthConfigError, AuthConfigErrors } from './errors.ts';
import { parseGoDuration } from './go-duration.ts';
import { isJwtSignMethod, UNSUPPORTED_SIGN_METHODS, type JwtSignMethod } from './jwt-keys.ts';

/** etcd's DefaultTTL for JWT tokens, used when ttl= is absent or empty. */
export const JWT_DEFAULT_TTL_MS = 5 * 60_000;

export type AuthTokenFlag =
  | { type: 'simple' }
  | {
      type: 'jwt';
      signMethod: JwtSignMethod;
      /** Paths, for the caller to read: this layer does no I/O. */
      pubKeyPath?: string;
      privKeyPath?: string;
      ttlMs: number;
      /** Options etcd does not know: it warns and goes on. */
      unknownOptions: string[];
    }
  /** --auth-token '': etcd's nop provider, which issues no tokens. */
  | { type: 'none' };

const KNOWN = new Set(['sign-method', 'pub-key', 'priv-key', 'ttl']);

/**
 * Parses --auth-token exactly as etcd 3.4's decomposeOpts and jwtOptions.Parse do: the type, then
 * comma-separated key=value options; a part without exactly one "=" or a repeated key is
 * "auth: invalid auth options"; the type is case-sensitive ("JWT" is refused) and not trimmed;
 * simple ignores its options. For jwt, a bad ttl or an unknown sign-method is "invalid auth
 * options" too; EdDSA and none are known names that etcd then cannot use. Checked against real
 * etcd 3.4.23 start-ups (test/auth/token-flag.test.ts lists them).
 */
export function parseAuthTokenFlag(value: string): AuthTokenFlag {
  const parts = value.split(',');
  const type = parts[0];
  const opts = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const kv = part.split('=');
    if (kv.length !== 2 || opts.has(kv[0])) throw AuthConfigErrors.invalidAuthOpts();
    opts.set(kv[0], kv[1]);
  }
  switch (type) {
    case 'simple':
      return { type: 'simple' };
    case '':
      return { type: 'none' };
    case 'jwt':
      break;
    default:
      throw AuthConfigErrors.invalidAuthOpts();
  }
  let ttlMs = JWT_DEFAULT_TTL_MS;
  const ttl = opts.get('ttl') ?? '';
  if (ttl !== '') {
    const parsed = parseGoDuration(ttl);
    if (parsed === undefined) throw AuthConfigErrors.invalidAuthOpts();
    ttlMs = parsed;
  }
  const method = opts.get('sign-method') ?? '';
  if (UNSUPPORTED_SIGN_METHODS[method]) throw new AuthConfigError(`unsupported signing method: ${UNSUPPORTED_SIGN_METHODS[method]}`);
  if (!isJwtSignMethod(method)) throw AuthConfigErrors.invalidAuthOpts();
  const pub = opts.get('pub-key') ?? '';
  const priv = opts.get('priv-key') ?? '';
  return {
    type: 'jwt',
    signMethod: method,
    ...(pub ? { pubKeyPath: pub } : {}),
    ...(priv ? { privKeyPath: priv } : {}),
    ttlMs,
    unknownOptions: [...opts.keys()].filter((k) => !KNOWN.has(k)),
  };
}
