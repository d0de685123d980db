// Shared by scripts/record-golden.ts and test/conformance/gateway.test.ts: send one case request
// with node:http (not fetch: fetch refuses a body on GET and adds headers of its own) and capture
// the parts of the answer the golden files keep.
import http from 'node:http';
import type { Case, CaseRequest } from './cases.ts';
import type { RunVars } from './normalise.ts';

/** Response headers compared between etcd and edgecd. */
export const COMPARED_HEADERS = ['content-type', 'allow'] as const;
/** Recorded for reference only (Go/grpc-gateway artefacts); never compared. */
export const INFO_HEADERS = ['x-content-type-options', 'grpc-metadata-content-type', 'trailer'] as const;

export interface RecordedResponse {
  status: number;
  /** content-type, allow and every access-control-* header, names lower-cased, sorted. */
  headers: Record<string, string>;
  /** Go/gateway artefacts etcd sends, recorded but not compared. */
  infoHeaders: Record<string, string>;
  /** The raw response body text (HTTP trailers excluded). */
  body: string;
}

function pick(raw: http.IncomingHttpHeaders, keep: (name: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(raw).sort()) {
    if (!keep(name)) continue;
    const v = raw[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export function comparedHeader(name: string): boolean {
  return name.startsWith('access-control-') || (COMPARED_HEADERS as readonly string[]).includes(name);
}

export function send(baseUrl: string, req: CaseRequest, timeoutMs = 30_000): Promise<RecordedResponse> {
  const url = new URL(req.path, baseUrl);
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
  if (body !== undefined) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    let res: http.IncomingMessage | undefined;
    const chunks: Buffer[] = [];
    const answer = (): RecordedResponse => ({
      status: res?.statusCode ?? 0,
      headers: res ? pick(res.headers, comparedHeader) : {},
      infoHeaders: res ? pick(res.headers, (n) => (INFO_HEADERS as readonly string[]).includes(n)) : {},
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const r = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: req.method, headers, agent: false },
      (incoming) => {
        res = incoming;
        incoming.on('data', (c: Buffer) => chunks.push(c));
        incoming.on('end', () => {
          clearTimeout(streamTimer);
          resolve(answer());
        });
        incoming.on('error', reject);
      },
    );
    // A stream that never ends by itself (observe), or a request that waits (a contended lock):
    // keep what arrived within streamMs, then hang up as a client giving up would. No answer at
    // all is status 0.
    const streamTimer =
      req.streamMs === undefined
        ? undefined
        : setTimeout(() => {
            resolve(answer());
            r.destroy();
          }, req.streamMs);
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`timeout after ${timeoutMs} ms: ${req.method} ${req.path}`)));
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

/** What a golden file says about the request (huge bodies are abbreviated). */
export function describeRequest(req: CaseRequest): { method: string; path: string; to?: string; headers?: Record<string, string>; body?: string; bodyLength?: number; streamMs?: number } {
  const out: { method: string; path: string; to?: string; headers?: Record<string, string>; body?: string; bodyLength?: number; streamMs?: number } = { method: req.method, path: req.path };
  if (req.to) out.to = req.to;
  if (req.headers) out.headers = req.headers;
  if (req.body !== undefined) {
    if (req.body.length > 2000) {
      out.body = req.body.slice(0, 200) + `...(${req.body.length} chars)`;
      out.bodyLength = Buffer.byteLength(req.body);
    } else out.body = req.body;
  }
  if (req.streamMs !== undefined) out.streamMs = req.streamMs;
  return out;
}

export interface GoldenExchange {
  request: ReturnType<typeof describeRequest>;
  response: RecordedResponse;
  /** For cases naming members: the run-time values the answer is normalised with. */
  vars?: RunVars;
}

export interface GoldenFile {
  case: string;
  note?: string;
  requests: GoldenExchange[];
}

/** The request with $SELF, $ADDED, $PEER_URL, $LEASE, $KEY and $REV replaced by this run's values. */
export function substitute(req: CaseRequest, vars: RunVars): CaseRequest {
  if (req.body === undefined || !req.body.includes('$')) return req;
  const body = req.body.replace(/\$(SELF|ADDED|PEER_URL|FOLLOWER|LEASE|KEY|REV)\b/g, (m, name: keyof RunVars) => vars[name] ?? m);
  return { ...req, body };
}

/**
 * Picks up the run-time values an answer reveals: the member's own id, a member just added, and
 * the lease, key and revision a lock or campaign answered (a lease of 0 makes the member grant one
 * with an id of its choosing; later requests unlock, resign or revoke it by these).
 */
function learn(vars: RunVars, path: string, body: string): void {
  vars.SELF ??= /"member_id":"(\d+)"/.exec(body)?.[1];
  const added = /"member":\{"ID":"(\d+)"/.exec(body)?.[1];
  if (added) vars.ADDED = added;
  if (path.endsWith('/lock/lock')) {
    const key = /^\{"header":\{[^}]*\},"key":"([^"]*)"\}$/.exec(body)?.[1];
    if (key === undefined) return;
    // clientv3's lock key is name/<lease id in hex>.
    const hex = /\/([0-9a-f]+)$/.exec(Buffer.from(key, 'base64').toString('latin1'))?.[1];
    Object.assign(vars, { KEY: key, LEASE: hex ? BigInt('0x' + hex).toString() : undefined, REV: undefined });
  } else if (path.endsWith('/election/campaign')) {
    const leader = /"leader":(\{[^}]*\})/.exec(body)?.[1];
    if (leader === undefined) return;
    const l = JSON.parse(leader) as { key?: string; rev?: string; lease?: string };
    Object.assign(vars, { KEY: l.key, LEASE: l.lease, REV: l.rev });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends a case's requests in order (with its timing), learning run-time values as it goes.
 * `target` says where each request goes: one URL, or a function choosing a cluster's member.
 * `stopFollower` stops one of a cluster's followers (for cases with stopFollower).
 */
export async function runCase(
  target: string | ((req: CaseRequest, vars: RunVars) => Promise<string>),
  c: Case,
  vars: RunVars,
  stopFollower?: () => Promise<void>,
): Promise<GoldenExchange[]> {
  if (c.stopFollower) {
    if (!stopFollower) throw new Error(`${c.name}: stopping a follower needs a cluster`);
    await stopFollower();
  }
  if (c.waitMs) await sleep(c.waitMs);
  // A few milliseconds into a second leaves the rest of it for the requests.
  if (c.sameSecond) await sleep(1005 - (Date.now() % 1000));
  const out: GoldenExchange[] = [];
  for (const req of c.requests) {
    const url = typeof target === 'string' ? target : await target(req, vars);
    const response = await send(url, substitute(req, vars));
    learn(vars, req.path, response.body);
    out.push({ request: describeRequest(req), response, ...(c.members ? { vars: { ...vars } } : {}) });
  }
  return out;
}

/** Golden file name for the i-th case (0-based). */
export function goldenName(index: number, name: string): string {
  return `${String(index + 1).padStart(3, '0')}-${name}.json`;
}

/** The members that answer their status (stopped ones are left out): the leader and the followers, in the given order. */
export async function clusterRoles(clientUrls: string[]): Promise<{ leader: { url: string; id: string }; followers: { url: string; id: string }[] }> {
  const asked = await Promise.all(
    clientUrls.map(async (url) => {
      try {
        const r = await send(url, { method: 'POST', path: '/v3/maintenance/status', body: '{}' }, 5_000);
        const s = JSON.parse(r.body) as { header: { member_id: string }; leader?: string };
        return { url, id: s.header.member_id, leader: s.leader };
      } catch {
        return undefined; // stopped
      }
    }),
  );
  const seen = asked.filter((m) => m !== undefined);
  const leaderId = seen.find((m) => m.leader)?.leader;
  const leader = seen.find((m) => m.id === leaderId);
  if (!leader || !seen.every((m) => m.leader === leaderId)) throw new Error(`no agreed leader: ${JSON.stringify(seen)}`);
  return { leader, followers: seen.filter((m) => m.id !== leaderId) };
}

/**
 * For the cluster suite: sends a request to the current leader, or to the first member that is
 * not the leader (learning its id as $FOLLOWER), asking each member's status.
 */
export function clusterTarget(clientUrls: string[]): (req: CaseRequest, vars: RunVars) => Promise<string> {
  return async (req, vars) => {
    const { leader, followers } = await clusterRoles(clientUrls);
    vars.FOLLOWER = followers[0].id;
    return req.to === 'follower' ? followers[0].url : leader.url;
  };
}

/** The cluster member to stop for a stopFollower case: the last follower ($FOLLOWER, the first, stays up). */
export async function followerToStop(clientUrls: string[]): Promise<string> {
  const { followers } = await clusterRoles(clientUrls);
  if (followers.length < 2) throw new Error('stopping a follower needs two of them');
  return followers[followers.length - 1].url;
}
