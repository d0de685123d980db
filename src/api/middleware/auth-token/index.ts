import type { Context, MiddlewareHandler } from 'hono';
import { Errors } from '../../etcd-errors.ts';
import { nodeEnv, requestHeader } from '../../node-env.ts';

/** Who a valid token names: the member's AuthInfo. */
export interface AuthInfo {
  username: string;
  /** The auth store's revision the token was issued at; 0 for a request without a token. */
  revision: number;
}

/** No token: who asks is nobody (with auth on, etcd then answers "user name is empty"). */
export const NO_TOKEN: AuthInfo = Object.freeze({ username: '', revision: 0 });

/** Checks a token: returns who it names, or throws (or rejects with) etcd's error for a bad one. */
export type TokenVerifier = (token: string) => AuthInfo | Promise<AuthInfo>;

/** Auth disabled: etcd 3.4 still checks a token it is given, and no token is valid. */
export const refuseEveryToken: TokenVerifier = () => {
  throw Errors.invalidAuthToken();
};

const CHECK = 'edgecd.authCheck';

/**
 * Picks up the request's token (the Authorization header, bare as etcd takes it, or a query
 * parameter where a browser cannot set headers). It does not refuse anything itself: etcd checks
 * the token only where its server consults auth, after the request was decoded and validated, and
 * not at all on some routes (lease keep-alive and time-to-live, member list, status). Routes call
 * authorize() at that point.
 */
export function authToken(opts: { verify?: TokenVerifier; queryParam?: string; fromCertificate?: (commonName: string) => AuthInfo | undefined } = {}): MiddlewareHandler {
  const verify = opts.verify ?? refuseEveryToken;
  return function authTokenMiddleware(c, next) {
    const token = requestHeader(c, 'authorization') || (opts.queryParam ? c.req.query(opts.queryParam) : undefined);
    if (token) c.set(CHECK, () => verify(token));
    else {
      // etcd's --client-cert-auth: without a token, a verified client certificate's common name is the user.
      const cn = opts.fromCertificate && certificateCommonName(c);
      const who = cn ? opts.fromCertificate!(cn) : undefined;
      c.set(CHECK, who ? () => who : undefined);
    }
    return next();
  };
}

/** The common name of the client's certificate, when the TLS handshake verified one. */
function certificateCommonName(c: Context): string | undefined {
  const socket = nodeEnv(c)?.incoming?.socket as (import('node:tls').TLSSocket & { authorized?: boolean }) | undefined;
  if (!socket?.authorized || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

/**
 * The caller named by the request's token, NO_TOKEN without one (at once: no promise on the hot
 * path); throws or rejects for a token etcd would refuse.
 */
export function authorize(c: Context): AuthInfo | Promise<AuthInfo> {
  const check = c.get(CHECK) as (() => AuthInfo | Promise<AuthInfo>) | undefined;
  return check ? check() : NO_TOKEN;
}
