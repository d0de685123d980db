import { importX509 } from 'jose';
import { AuthConfigError, AuthConfigErrors } from './errors.ts';
import { firstPemBlock, pkcs1ToPkcs8, sec1ToPkcs8 } from './pem.ts';

/**
 * The sign methods etcd 3.4 can use. golang-jwt's registry also knows "EdDSA" and "none", but
 * etcd's options.Key() refuses both at start-up (real etcd 3.4.23: "unsupported signing method:
 * *jwt.SigningMethodEd25519", "... *jwt.signingMethodNone").
 */
export const JWT_SIGN_METHODS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] as const;
export type JwtSignMethod = (typeof JWT_SIGN_METHODS)[number];

/** Names golang-jwt resolves but etcd cannot use, with the type etcd names in its error. */
export const UNSUPPORTED_SIGN_METHODS: Record<string, string> = { EdDSA: '*jwt.SigningMethodEd25519', none: '*jwt.signingMethodNone' };

export function isJwtSignMethod(s: string): s is JwtSignMethod {
  return (JWT_SIGN_METHODS as readonly string[]).includes(s);
}

type Key = CryptoKey | Uint8Array;

/** What a JWT provider signs and verifies with. No signKey: verify-only (etcd given only pub-key). */
export interface JwtKeys {
  alg: string;
  verifyKey: Key;
  signKey?: Key;
  /** Put in tokens' headers when set (the shared key's id). */
  kid?: string;
}

const HASH = { '256': 'SHA-256', '384': 'SHA-384', '512': 'SHA-512' } as const;
const CURVE = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' } as const;

function params(method: JwtSignMethod): RsaHashedImportParams | EcKeyImportParams {
  const hash = HASH[method.slice(2) as keyof typeof HASH];
  if (method.startsWith('RS')) return { name: 'RSASSA-PKCS1-v1_5', hash };
  if (method.startsWith('PS')) return { name: 'RSA-PSS', hash };
  return { name: 'ECDSA', namedCurve: CURVE[method as keyof typeof CURVE] };
}

const text = (b: Uint8Array | string) => (typeof b === 'string' ? b : new TextDecoder().decode(b));

async function importPrivate(method: JwtSignMethod, pem: string): Promise<CryptoKey> {
  const ec = method.startsWith('ES');
  const block = firstPemBlock(pem);
  // golang-jwt's own words for a file that is no key of the kind.
  const notPem = () => new AuthConfigError('Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 private key');
  const notOurs = () => new AuthConfigError(ec ? 'Key is not a valid ECDSA private key' : 'Key is not a valid RSA private key');
  if (!block) throw notPem();
  let der: Uint8Array;
  try {
    if (block.label === 'PRIVATE KEY') der = block.der;
    else if (!ec && block.label === 'RSA PRIVATE KEY') der = pkcs1ToPkcs8(block.der);
    else if (ec && block.label === 'EC PRIVATE KEY') der = sec1ToPkcs8(block.der);
    else throw notOurs();
    // Extractable, so that its public half can be taken (Web Crypto has no "public from private").
    return await crypto.subtle.importKey('pkcs8', der as BufferSource, params(method), true, ['sign']);
  } catch (e) {
    if (e instanceof AuthConfigError) throw e;
    // A key of the wrong kind, or an EC key on another curve than the method's: etcd 3.4 starts
    // with such a key and then fails every authenticate; refusing it at start-up is kinder.
    throw new AuthConfigError(`${notOurs().message} for ${method}: ${(e as Error).message}`);
  }
}

async function importPublic(method: JwtSignMethod, pem: string): Promise<CryptoKey> {
  const ec = method.startsWith('ES');
  const block = firstPemBlock(pem);
  if (!block) throw new AuthConfigError('Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 private key');
  try {
    if (block.label === 'CERTIFICATE') return await importX509(pem, method, { extractable: true });
    if (block.label === 'PUBLIC KEY') return await crypto.subtle.importKey('spki', block.der as BufferSource, params(method), true, ['verify']);
  } catch {
    // fall through to etcd's message
  }
  throw new AuthConfigError(ec ? 'Key is not a valid ECDSA public key' : 'key is not a valid RSA public key');
}

/** The public half of a private key, as a verify key. */
export async function publicOf(priv: CryptoKey): Promise<CryptoKey> {
  const jwk = await crypto.subtle.exportKey('jwk', priv);
  const pub: JsonWebKey = jwk.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : jwk.kty === 'EC' ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  return crypto.subtle.importKey('jwk', pub, priv.algorithm as RsaHashedImportParams | EcKeyImportParams, true, ['verify']);
}

async function samePublicKey(a: CryptoKey, b: CryptoKey): Promise<boolean> {
  const [x, y] = await Promise.all([crypto.subtle.exportKey('jwk', a), crypto.subtle.exportKey('jwk', b)]);
  return x.n === y.n && x.e === y.e && x.crv === y.crv && x.x === y.x && x.y === y.y;
}

/**
 * Loads the keys for --auth-token jwt from the key files' contents (the caller reads the files:
 * this layer does no I/O), as etcd's jwtOptions.Key() does:
 * - RS*, PS*: priv-key PKCS#1 or PKCS#8, pub-key SPKI or a certificate; ES*: priv-key SEC1 or
 *   PKCS#8, pub-key the same. Only a public key: verify-only (a member that cannot sign answers
 *   an authenticate with "auth: token signing attempted with verify-only key").
 * - HS*: the secret is the whole priv-key file, bytes as they are; pub-key is ignored.
 * Stricter than etcd: a public key that is not the private key's half is refused (etcd's check
 * compares with && and lets almost any pair through), and so is an EC key on another curve.
 */
export async function loadJwtKeys(method: JwtSignMethod, files: { privateKey?: Uint8Array | string; publicKey?: Uint8Array | string }): Promise<JwtKeys> {
  if (method.startsWith('HS')) {
    const secret = files.privateKey;
    if (secret === undefined || secret.length === 0) throw AuthConfigErrors.missingKey();
    const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    return { alg: method, signKey: bytes, verifyKey: bytes };
  }
  const priv = files.privateKey !== undefined && files.privateKey.length > 0 ? await importPrivate(method, text(files.privateKey)) : undefined;
  const pub = files.publicKey !== undefined && files.publicKey.length > 0 ? await importPublic(method, text(files.publicKey)) : undefined;
  if (!priv) {
    if (!pub) throw AuthConfigErrors.missingKey();
    return { alg: method, verifyKey: pub };
  }
  const derived = await publicOf(priv);
  if (pub && !(await samePublicKey(pub, derived))) throw AuthConfigErrors.keyMismatch();
  return { alg: method, signKey: priv, verifyKey: derived };
}
