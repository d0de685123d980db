import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { type ListedMember, planJoin, type JoinPlan } from './join-plan.ts';

export interface JoinOptions {
  /** Client URLs of members of the cluster to join; a DNS name stands for every address it has (Fly's <app>.internal). */
  join: string[];
  selfName: string;
  selfPeerUrls: string[];
  /** This member's client URLs, listened on and advertised: how it knows itself among the join addresses. */
  selfClientUrls: string[];
  /** How long to keep trying while others exist but none answers. */
  timeoutMs: number;
  log: (msg: string) => void;
}

/** This machine's own addresses. */
function ownAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/** Every URL a join address stands for: one per address its host name resolves to; undefined when it does not resolve (that says nothing of who exists). */
async function expand(url: string): Promise<string[] | undefined> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  try {
    const addrs = await lookup(host, { all: true });
    return addrs.map((a) => {
      const v = new URL(url);
      v.hostname = a.family === 6 ? `[${a.address}]` : a.address;
      return v.toString().replace(/\/$/, '');
    });
  } catch {
    return undefined;
  }
}

async function post(url: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url + path, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(3000) });
  return { status: r.status, json: await r.json() };
}

/**
 * --join: a member with an empty database asks the cluster for its member list, adds itself as a
 * learner (if it is not listed yet) and starts as an existing member; when no other machine
 * exists it starts the cluster. It never starts a second cluster beside one it cannot reach: it
 * retries, then fails (a supervisor restarts it).
 */
export async function joinCluster(o: JoinOptions): Promise<{ initialCluster: string; state: 'new' | 'existing' }> {
  const mine = ownAddresses();
  const selfClients = new Set(o.selfClientUrls.map((u) => u.replace(/\/$/, '')));
  // An address of this machine on a port this member listens on is this member (Fly's <app>.internal lists it too).
  const portOf = (u: URL) => u.port || (u.protocol === 'https:' ? '443' : '80');
  const ports = new Set(o.selfClientUrls.map((u) => portOf(new URL(u))));
  const isSelf = (u: string) => {
    const url = new URL(u);
    return mine.has(url.hostname.replace(/^\[|\]$/g, '')) && ports.has(portOf(url));
  };
  const deadline = Date.now() + o.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const expanded = await Promise.all(o.join.map(expand));
    const unresolved = o.join.filter((_, i) => expanded[i] === undefined);
    const urls = [...new Set(expanded.flatMap((e) => e ?? []))].filter((u) => !selfClients.has(u) && !isSelf(u));
    const answers = await Promise.all(
      urls.map(async (url) => {
        try {
          const r = await post(url, '/v3/cluster/member/list', {});
          if (r.status !== 200) return { url, error: `${r.status} ${JSON.stringify(r.json)}` };
          return { url, members: (r.json.members ?? []) as ListedMember[] };
        } catch (err) {
          return { url, error: (err as Error).message };
        }
      }),
    );
    // A name that does not resolve hides who is there: never a reason to start a new cluster.
    const unknown = unresolved.map((u) => ({ url: u, error: 'does not resolve' }));
    const plan: JoinPlan = planJoin({ selfName: o.selfName, selfPeerUrls: o.selfPeerUrls, answers: [...answers, ...unknown], othersExist: urls.length > 0 || unresolved.length > 0 });
    if (plan.kind === 'bootstrap') {
      o.log(`join: no other member exists at ${o.join.join(',')}: starting a new cluster`);
      return { initialCluster: o.selfPeerUrls.map((u) => `${o.selfName}=${u}`).join(','), state: 'new' };
    }
    if (plan.kind === 'join') {
      if (plan.add) {
        const r = await post(plan.via, '/v3/cluster/member/add', { peerURLs: o.selfPeerUrls, isLearner: true }).catch((err: Error) => ({ status: 0, json: { error: err.message } }));
        if (r.status !== 200) {
          o.log(`join: adding this member through ${plan.via} failed (${r.status} ${JSON.stringify(r.json)}); trying again`);
          if (Date.now() > deadline) throw new Error(`could not join the cluster through ${plan.via}: ${JSON.stringify(r.json)}`);
          await new Promise((res) => setTimeout(res, Math.min(5000, 500 * attempt)));
          continue;
        }
        o.log(`join: added as a learner through ${plan.via}`);
      }
      return { initialCluster: plan.initialCluster, state: 'existing' };
    }
    if (Date.now() > deadline) throw new Error(`could not join the cluster: ${plan.reason}`);
    o.log(`join: ${plan.reason}; trying again`);
    await new Promise((res) => setTimeout(res, Math.min(5000, 500 * attempt)));
  }
}
