import { Errors } from '../etcd-errors.ts';

/**
 * member/add's peer URLs as etcd 3.4 reads them (Go's types.NewURLs): each trimmed, with a scheme
 * of http, https, unix or unixs, an authority of host:port (either may be empty; IPv6 in
 * brackets) and no path; answered sorted, in Go's printed form (the scheme lower-cased). Anything
 * else is "given member URLs are invalid". Then, unlike etcd, a URL edgecd's peer transport cannot
 * dial (unix sockets, no host) is refused the same way: it would never reach the member.
 */
export function peerUrlsForAdd(urls: string[]): string[] {
  if (urls.length === 0) throw Errors.memberBadURLs();
  const out = urls.map((u) => {
    const go = goPeerUrl(u);
    if (go === undefined || !dialable(go)) throw Errors.memberBadURLs();
    return go;
  });
  return out.sort();
}

/**
 * member/update's peer URLs: etcd 3.4 takes any strings there, even none. edgecd refuses what its
 * peer transport cannot dial, which would otherwise fail inside the transport later.
 */
export function peerUrlsForUpdate(urls: string[]): string[] {
  if (!urls.every(dialable)) throw Errors.memberBadURLs();
  return urls;
}

const URL_FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/;

function goPeerUrl(raw: string): string | undefined {
  const m = URL_FORM.exec(raw.trim());
  if (!m) return undefined;
  const [, scheme, authority, path, query = '', fragment = ''] = m;
  const s = scheme.toLowerCase();
  if (!['http', 'https', 'unix', 'unixs'].includes(s) || path !== '' || /[\s\x00-\x1f\x7f]/.test(authority)) return undefined;
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (!splitsHostPort(host)) return undefined;
  return `${s}://${authority}${query}${fragment}`;
}

/** Go's net.SplitHostPort succeeds, and url.Parse's port check (digits only) holds. */
function splitsHostPort(host: string): boolean {
  let port: string;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0 || host[close + 1] !== ':') return false;
    port = host.slice(close + 2);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon < 0 || host.indexOf(':') !== colon) return false;
    port = host.slice(colon + 1);
  }
  return /^\d*$/.test(port);
}

function dialable(u: string): boolean {
  try {
    const p = new URL(u);
    return (p.protocol === 'http:' || p.protocol === 'https:') && p.hostname !== '';
  } catch {
    return false;
  }
}
