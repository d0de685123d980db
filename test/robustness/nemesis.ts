import { Rng } from '../watch/model.ts';
import type { Cluster } from './cluster.ts';
import type { FaultRecord } from './history.ts';
import type { ProxyTier } from './proxies.ts';

/**
 * Faults, one at a time, each held for a while and then healed:
 *
 * | kind | what |
 * |---|---|
 * | kill-leader, kill-follower | SIGKILL, restart on the same database after a while |
 * | kill-majority, kill-all | SIGKILL of a majority / every member, restarted one by one |
 * | restart-leader | SIGTERM (graceful: hands leadership over), restart |
 * | pause-leader, pause-follower | SIGSTOP longer than the election timeout, then SIGCONT |
 * | partition-leader, partition-minority | links cut both ways between two sides |
 * | one-way-leader, one-way-to-leader | the leader's outgoing (or incoming) peer traffic lost |
 * | lossy-links | every link loses a share of messages, with delay and jitter |
 * | slow-links | every link delayed |
 * | db-stall-leader, db-stall-follower | the member's database stops answering (tables locked) |
 * | db-slow-leader | the leader's database answers slowly (locked 100-400 ms at a time, with short gaps) |
 * | db-cut | the member's database connection terminated (pg_terminate_backend) |
 * | wipe-follower | a follower's database emptied; removed, re-added as a learner, promoted |
 * | kill-proxy | (--proxies) an edge proxy SIGKILLed, restarted on its port after a while |
 * | redis-down | (--proxies) the proxies' Redis unreachable (their relay to it cut), then restored |
 */

export const FAULT_KINDS = [
  'kill-leader',
  'kill-follower',
  'kill-majority',
  'kill-all',
  'restart-leader',
  'pause-leader',
  'pause-follower',
  'partition-leader',
  'partition-minority',
  'one-way-leader',
  'one-way-to-leader',
  'lossy-links',
  'slow-links',
  'db-stall-leader',
  'db-stall-follower',
  'db-slow-leader',
  'db-cut',
  'wipe-follower',
  'kill-proxy',
  'redis-down',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** How often each kind comes up in a random schedule. */
const WEIGHTS: Record<FaultKind, number> = {
  'kill-leader': 3,
  'kill-follower': 2,
  'kill-majority': 1,
  'kill-all': 1,
  'restart-leader': 1,
  'pause-leader': 3,
  'pause-follower': 2,
  'partition-leader': 3,
  'partition-minority': 2,
  'one-way-leader': 1,
  'one-way-to-leader': 1,
  'lossy-links': 2,
  'slow-links': 1,
  'db-stall-leader': 2,
  'db-stall-follower': 1,
  'db-slow-leader': 1,
  'db-cut': 1,
  'wipe-follower': 1,
  'kill-proxy': 3,
  'redis-down': 2,
};

/** Kinds that need the member's database to be a Postgres the harness can reach. */
export const DB_FAULTS: FaultKind[] = ['db-stall-leader', 'db-stall-follower', 'db-slow-leader', 'db-cut'];
/** Kinds that need the edge proxies (--proxies). */
export const PROXY_FAULTS: FaultKind[] = ['kill-proxy', 'redis-down'];

export function pickFault(rng: Rng, kinds: readonly FaultKind[] = FAULT_KINDS): FaultKind {
  const total = kinds.reduce((s, k) => s + WEIGHTS[k], 0);
  let x = rng.float() * total;
  for (const k of kinds) {
    x -= WEIGHTS[k];
    if (x < 0) return k;
  }
  return FAULT_KINDS[0];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Nemesis {
  readonly faults: FaultRecord[] = [];
  /** The leader as the monitor last saw it. */
  leader: number | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly now: () => number,
    private readonly log: (msg: string) => void,
    private readonly proxies?: ProxyTier,
  ) {}

  private leaderOr(rng: Rng): number {
    const up = this.cluster.members.filter((m) => m.state === 'running').map((m) => m.index);
    if (this.leader !== undefined && this.cluster.members[this.leader].state === 'running') return this.leader;
    return up.length ? rng.pick(up) : 0;
  }

  private follower(rng: Rng, leader: number): number {
    const others = this.cluster.members.filter((m) => m.index !== leader && m.state === 'running').map((m) => m.index);
    return others.length ? rng.pick(others) : (leader + 1) % this.cluster.members.length;
  }

  private shuffled(rng: Rng): number[] {
    const xs = this.cluster.members.map((m) => m.index);
    for (let i = xs.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }

  /** Injects one fault, holds it, heals it. */
  async run(kind: FaultKind, rng: Rng): Promise<FaultRecord> {
    const c = this.cluster;
    const n = c.members.length;
    const et = c.electionTimeoutMs;
    const hold = () => Math.round(et * 1.5 + rng.int(et * 3.5));
    const rec: FaultRecord = { kind, targets: [], start: this.now() };
    this.faults.push(rec);
    const L = this.leaderOr(rng);
    try {
      switch (kind) {
        case 'kill-leader':
        case 'kill-follower': {
          const t = kind === 'kill-leader' ? L : this.follower(rng, L);
          rec.targets = [t];
          await c.kill(t);
          await sleep(rng.int(et * 4));
          c.restart(t);
          break;
        }
        case 'kill-majority':
        case 'kill-all': {
          const ts = this.shuffled(rng).slice(0, kind === 'kill-all' ? n : Math.floor(n / 2) + 1);
          rec.targets = ts;
          await Promise.all(ts.map((t) => c.kill(t)));
          await sleep(rng.int(et * 3));
          for (const t of ts) {
            c.restart(t);
            await sleep(rng.int(et));
          }
          break;
        }
        case 'restart-leader': {
          rec.targets = [L];
          await c.terminate(L);
          await sleep(rng.int(et * 2));
          c.restart(L);
          break;
        }
        case 'pause-leader':
        case 'pause-follower': {
          const t = kind === 'pause-leader' ? L : this.follower(rng, L);
          rec.targets = [t];
          c.pause(t);
          await sleep(hold());
          c.resume(t);
          break;
        }
        case 'partition-leader':
        case 'partition-minority': {
          const minority = kind === 'partition-leader' ? [L] : this.shuffled(rng).slice(0, Math.floor((n - 1) / 2));
          rec.targets = minority;
          c.partition([minority, c.members.map((m) => m.index).filter((i) => !minority.includes(i))]);
          await sleep(hold());
          c.healLinks();
          break;
        }
        case 'one-way-leader': {
          rec.targets = [L];
          c.setRules(L, [{ to: '*', drop: 1 }]);
          await sleep(hold());
          c.healLinks();
          break;
        }
        case 'one-way-to-leader': {
          rec.targets = [L];
          for (const m of c.members) if (m.index !== L) c.setRules(m.index, [{ to: c.members[L].peerUrl, drop: 1 }]);
          await sleep(hold());
          c.healLinks();
          break;
        }
        case 'lossy-links': {
          const drop = 0.05 + rng.float() * 0.35;
          const delayMs = rng.int(50);
          const jitterMs = rng.int(100);
          rec.note = `drop ${drop.toFixed(2)}, delay ${delayMs}+${jitterMs} ms`;
          rec.targets = c.members.map((m) => m.index);
          for (const m of c.members) c.setRules(m.index, [{ to: '*', drop, delayMs, jitterMs }]);
          await sleep(hold() * 2);
          c.healLinks();
          break;
        }
        case 'slow-links': {
          const delayMs = 50 + rng.int(250);
          rec.note = `delay ${delayMs}+100 ms`;
          rec.targets = c.members.map((m) => m.index);
          for (const m of c.members) c.setRules(m.index, [{ to: '*', delayMs, jitterMs: 100 }]);
          await sleep(hold() * 2);
          c.healLinks();
          break;
        }
        case 'db-stall-leader':
        case 'db-stall-follower': {
          const t = kind === 'db-stall-leader' ? L : this.follower(rng, L);
          rec.targets = [t];
          await c.dbStall(t, hold());
          break;
        }
        case 'db-slow-leader': {
          rec.targets = [L];
          const stall = 100 + rng.int(300);
          const gap = 20 + rng.int(100);
          rec.note = `stalls of ${stall} ms every ${stall + gap} ms`;
          await c.dbSlow(L, hold() * 2, stall, gap);
          break;
        }
        case 'db-cut': {
          const t = rng.chance(0.5) ? L : this.follower(rng, L);
          rec.targets = [t];
          rec.note = `${await c.dbCut(t)} connections terminated`;
          await sleep(et);
          break;
        }
        case 'wipe-follower': {
          const t = this.follower(rng, L);
          rec.targets = [t];
          const id = await c.wipe(t);
          rec.note = `rejoined as ${id}`;
          break;
        }
        case 'kill-proxy':
        case 'redis-down': {
          const px = this.proxies;
          if (!px) throw new Error('no proxies in this run (--proxies N)');
          if (kind === 'kill-proxy') {
            const up = px.proxies.filter((p) => p.state === 'running').map((p) => p.index);
            const t = up.length ? rng.pick(up) : 0;
            // targets name members; a proxy is named in the note.
            rec.note = `proxy p${t}`;
            await px.kill(t);
            await sleep(et + rng.int(et * 4));
            if (!(await px.restart(t))) rec.note += ': did not answer 20 s after its restart';
          } else {
            rec.note = 'Redis relay cut';
            await px.relay.cut();
            await sleep(hold());
            await px.relay.restore();
          }
          break;
        }
      }
    } catch (err) {
      rec.note = `${rec.note ? rec.note + '; ' : ''}failed: ${(err as Error).message}`;
      this.log(`fault ${kind} failed: ${(err as Error).message}`);
    } finally {
      await c.healAll();
      await this.proxies?.healAll();
      rec.end = this.now();
    }
    return rec;
  }
}
