import type { Anomaly } from './check-registers.ts';
import type { CampaignAttempt, Call, ElectionHistory, History, LockAttempt, LockHistory, ObservedLeader } from './history.ts';
import { eventText, type Reference } from './reference.ts';

/**
 * Locks and elections, checked against the store's own history (the agreed final history of every
 * key, see reference.ts) rather than against what clients believed.
 *
 * A name's queue is its keys (name/<lease in hex>); the holder (lock) or leader (election) at a
 * revision is the live key with the lowest create revision. Each life of a key (create revision C
 * to its deletion D: unlock, resign, lease expiry or revoke) is an acquisition, identified by C.
 *
 * Locks:
 * (a) fenced writes (a txn putting the fence key if create_revision(lock key) == C) that landed
 *     are, in revision order, non-overlapping runs per acquisition, and each landed while its key
 *     was live with create revision C and held the lock; every fence-key write in the history
 *     comes from such a txn; an answered one is in the history at its revision; one answered
 *     "compare failed" really found the key gone (or made again) at its revision;
 * (b) every lock answered at header revision H names a key created at or before H, and at H no
 *     key of the name with a lower create revision was live (a lock may be answered after its own
 *     key's lease ran out while it waited, as etcd 3.4 answers it: then its fenced writes fail;
 *     counted, not an anomaly);
 * (c) so waiters are served in create-revision order: a lock is answered only once every key
 *     created before its own is gone (the check of (b) at the answer's revision, which the lock
 *     answers as the revision of the read that found no older key; so an answer that skips a
 *     waiter ahead of it, or comes while the holder still holds, is caught there).
 *
 * Elections:
 * - a campaign answered with leader key K and rev C: K was created at C with the campaign's value,
 *   and at some revision between C and the answer (bounded by the revision of any linearizable
 *   request invoked after the answer came back) no key with a lower create revision was live: so
 *   at every moment at most one campaigner whose key is live believes it leads;
 * - a proclaim that succeeded wrote K while K (life C) led; one refused "not leader" came after
 *   K's life C ended; every value under the name comes from a campaign or proclaim; a resign
 *   answered left the key gone;
 * - observers: each stream's lines are the history's leader changes (a new leader key, or a new
 *   value of the leader), in order, none skipped: the first line is the leader at its header
 *   revision, each next line is the next change; a stream opened after another one ended never
 *   starts before what was already seen; an SSE stream resumed with Last-Event-ID goes on with
 *   the first change after it; a stream still open at the end saw the last change.
 */

export interface CoordStats {
  acquisitions: number;
  /** Locks answered after their own key was gone (lease ended while waiting). */
  acquiredGone: number;
  fencedOk: number;
  fencedRefused: number;
  fencedUnknown: number;
  /** Holders that stopped renewing their lease and went on writing. */
  staleHolders: number;
  /** Fence-key writes in the history. */
  fencedInHistory: number;
  leaders: number;
  proclaimsOk: number;
  proclaimsRefused: number;
  observerSessions: number;
  observedEvents: number;
  /** Leader changes in the history (observe's sense: a new key or a new value). */
  leaderChanges: number;
}

export const emptyCoordStats = (): CoordStats => ({
  acquisitions: 0,
  acquiredGone: 0,
  fencedOk: 0,
  fencedRefused: 0,
  fencedUnknown: 0,
  staleHolders: 0,
  fencedInHistory: 0,
  leaders: 0,
  proclaimsOk: 0,
  proclaimsRefused: 0,
  observerSessions: 0,
  observedEvents: 0,
  leaderChanges: 0,
});

interface Life {
  key: string;
  create: number;
  /** Deletion revision (Infinity: live at the end). */
  del: number;
  /** Value written at creation. */
  value: string;
  /** First revision at which it was the lowest live key (undefined: never). */
  heldFrom?: number;
}

export interface LeaderAt {
  rev: number;
  key: string;
  create: number;
  mod: number;
  value: string;
}

/** A name's keys through the history. */
export class Queue {
  /** After each revision that touched the name: the lowest live create revision (Infinity: none) and the leader. */
  readonly states: { rev: number; min: number; leader?: LeaderAt }[] = [];
  /** Every life of every key, by key, oldest first. */
  readonly lives = new Map<string, Life[]>();
  /** Leader changes as observe reports them: another key leads, or the leader has a new value. */
  readonly changes: LeaderAt[] = [];

  constructor(ref: Reference, readonly name: string) {
    const prefix = name + '/';
    const live = new Map<string, { create: number; mod: number; value: string; life: Life }>();
    let reported: LeaderAt | undefined;
    const evs = ref.events.filter((e) => e.key.startsWith(prefix));
    for (let i = 0; i < evs.length; ) {
      const rev = evs[i].rev;
      for (; i < evs.length && evs[i].rev === rev; i++) {
        const e = evs[i];
        const cur = live.get(e.key);
        if (e.type === 'DELETE') {
          if (cur) cur.life.del = rev;
          live.delete(e.key);
          continue;
        }
        if (cur && cur.create === e.create) {
          live.set(e.key, { ...cur, mod: e.mod, value: e.value });
          continue;
        }
        const life: Life = { key: e.key, create: e.create, del: Infinity, value: e.value };
        let ls = this.lives.get(e.key);
        if (!ls) this.lives.set(e.key, (ls = []));
        ls.push(life);
        live.set(e.key, { create: e.create, mod: e.mod, value: e.value, life });
      }
      let best: [string, { create: number; mod: number; value: string; life: Life }] | undefined;
      for (const kv of live) if (!best || kv[1].create < best[1].create || (kv[1].create === best[1].create && kv[0] < best[0])) best = kv;
      const leader = best && { rev, key: best[0], create: best[1].create, mod: best[1].mod, value: best[1].value };
      if (best && best[1].life.heldFrom === undefined) best[1].life.heldFrom = rev;
      this.states.push({ rev, min: best ? best[1].create : Infinity, leader });
      if (leader && (!reported || reported.key !== leader.key || reported.mod !== leader.mod)) {
        this.changes.push(leader);
        reported = leader;
      }
    }
  }

  /** Index of the state in effect at rev (-1: before the name's first revision). */
  private indexAt(rev: number): number {
    let lo = 0;
    let hi = this.states.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.states[mid].rev <= rev) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  at(rev: number): { rev: number; min: number; leader?: LeaderAt } {
    const i = this.indexAt(rev);
    return i < 0 ? { rev: 0, min: Infinity } : this.states[i];
  }

  /** Is there a revision in [from, to] at which no live key has a create revision below create? */
  freeWithin(from: number, to: number, create: number): boolean {
    const start = this.indexAt(from);
    if (start < 0) return true;
    for (let i = start; i < this.states.length && (i === start || this.states[i].rev <= to); i++) if (this.states[i].min >= create) return true;
    return false;
  }

  /** The life of key created at create. */
  life(key: string, create: number): Life | undefined {
    return this.lives.get(key)?.find((l) => l.create === create);
  }

  /** The key's latest life created at or before rev. */
  lifeAt(key: string, rev: number): Life | undefined {
    const ls = this.lives.get(key) ?? [];
    let out: Life | undefined;
    for (const l of ls) if (l.create <= rev) out = l;
    return out;
  }

  /** Live keys with a create revision below create at rev, for messages. */
  lowerAt(rev: number, create: number): string[] {
    const out: string[] = [];
    for (const ls of this.lives.values()) for (const l of ls) if (l.create < create && l.create <= rev && l.del > rev) out.push(`${l.key} c${l.create}${l.del < Infinity ? ` (deleted at ${l.del})` : ''}`);
    return out;
  }
}

/**
 * Real time against revisions: upper(t) is the lowest revision answered by a linearizable request
 * invoked after t (the state any answer given before t saw is at most that); lower(t) the highest
 * revision answered by one that completed before t.
 */
export class RevisionClock {
  private readonly byCall: { t: number; rev: number }[];
  private readonly suffixMin: number[];
  private readonly byRet: { t: number; rev: number }[];
  private readonly prefixMax: number[];

  constructor(history: History) {
    // rev: the newest state the request can have seen when invoked: a write's is the revision
    // before its own; a read's (or a request that may not have written) its header revision.
    const xs: { call: number; ret: number; rev: number }[] = [];
    const wrote = (o: History['ops'][number]) => o.kind === 'put' || (o.kind === 'cas' && o.ok === true) || (o.kind === 'delete' && (o.deleted ?? 0) > 0);
    for (const o of history.ops) if (o.ret !== undefined && o.rev && o.kind !== 'sget' && o.kind !== 'srange') xs.push({ call: o.call, ret: o.ret, rev: wrote(o) ? o.rev - 1 : o.rev });
    const add = (c: Call | undefined, write = false) => {
      if (c && c.ret !== undefined && c.rev) xs.push({ call: c.call, ret: c.ret, rev: write ? c.rev - 1 : c.rev });
    };
    for (const a of history.locks?.attempts ?? []) {
      add(a, a.create === a.rev);
      for (const w of a.fenced) add(w, w.ok === true);
      add(a.unlock);
    }
    for (const c of history.elections?.campaigns ?? []) {
      add(c, c.create === c.rev);
      for (const p of c.proclaims) add(p, p.ok === true);
      add(c.resign);
    }
    this.byCall = xs.map((x) => ({ t: x.call, rev: x.rev })).sort((a, b) => a.t - b.t);
    this.suffixMin = new Array(this.byCall.length);
    for (let i = this.byCall.length - 1, m = Infinity; i >= 0; i--) this.suffixMin[i] = m = Math.min(m, this.byCall[i].rev);
    this.byRet = xs.map((x) => ({ t: x.ret, rev: x.rev })).sort((a, b) => a.t - b.t);
    this.prefixMax = new Array(this.byRet.length);
    for (let i = 0, m = 0; i < this.byRet.length; i++) this.prefixMax[i] = m = Math.max(m, this.byRet[i].rev);
  }

  upper(t: number): number {
    let lo = 0;
    let hi = this.byCall.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.byCall[mid].t > t) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.byCall.length ? this.suffixMin[lo] : Infinity;
  }

  lower(t: number): number {
    let lo = 0;
    let hi = this.byRet.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.byRet[mid].t < t) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? this.prefixMax[lo - 1] : 0;
  }
}

const ms = (c: Call) => `[${c.call.toFixed(0)}..${c.ret === undefined ? '?' : c.ret.toFixed(0)}ms${c.rev ? ` rev ${c.rev}` : ''}${c.error ? ` ${c.error}` : ''}]`;
const lockText = (a: LockAttempt) => `lock c${a.client}@m${a.member} ${a.key}${a.create ? ` c${a.create}` : ''} ${ms(a)}`;
const campaignText = (c: CampaignAttempt) => `campaign c${c.client}@m${c.member} ${c.value}${c.key ? ` -> ${c.key} c${c.create}` : ''} ${ms(c)}`;

function reporter(anomalies: Anomaly[], checker: 'locks' | 'elections', cap = 20) {
  const counts = new Map<string, number>();
  const report = (kind: string, message: string, details?: string[]) => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    if (n <= cap) anomalies.push({ checker, message, details });
  };
  const close = () => {
    for (const [kind, n] of counts) if (n > cap) anomalies.push({ checker, message: `${n - cap} more: ${kind}` });
  };
  return { report, close };
}

export function checkLocks(history: History, locks: LockHistory, ref: Reference, stats: CoordStats): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const { report, close } = reporter(anomalies, 'locks');
  const q = new Queue(ref, locks.name);
  const final = ref.finalRevision;
  const byValue = new Map<string, { a: LockAttempt; w: LockAttempt['fenced'][number] }>();
  const keys = new Set<string>();
  for (const a of locks.attempts) {
    keys.add(a.key);
    if (a.stale) stats.staleHolders++;
    for (const w of a.fenced) {
      byValue.set(w.value, { a, w });
      if (w.ret === undefined) stats.fencedUnknown++;
      else if (w.ok) stats.fencedOk++;
      else stats.fencedRefused++;
    }
  }

  // Keys of the name come from lock requests.
  for (const key of q.lives.keys()) if (!keys.has(key)) report('phantom lock key', `lock key ${key} was created, but no lock request made it`);

  // (b) and (c): every answered lock, at its header revision.
  for (const a of locks.attempts) {
    if (a.ret === undefined || !a.rev || a.rev > final) continue;
    stats.acquisitions++;
    const H = a.rev;
    let life: Life | undefined;
    if (a.create) {
      life = q.life(a.key, a.create);
      if (!life) {
        report('acquisition not in history', `${lockText(a)}: the client read create revision ${a.create}, but the history has no such life of ${a.key}`);
        continue;
      }
      if (life.create > H) report('answered before its key existed', `${lockText(a)}: answered at revision ${H}, before its key was created (${life.create})`);
    } else {
      life = q.lifeAt(a.key, H);
      if (!life) {
        report('acquisition not in history', `${lockText(a)}: answered at revision ${H}, but ${a.key} was never created by then`);
        continue;
      }
    }
    if (a.createRead !== undefined && a.create !== undefined && a.createRead <= final) {
      const s = ref.stateAt(a.key, a.createRead);
      if (a.create === 0 ? s.value !== null : s.create !== a.create) report('create read differs', `${lockText(a)}: read the key's create revision as ${a.create} at revision ${a.createRead}, the history has ${s.value === null ? 'no key' : `c${s.create}`}`);
    }
    if (q.at(H).min < life.create) {
      report('acquired while a lower key was live', `${lockText(a)}: answered at revision ${H}, but keys with a lower create revision than ${life.create} were live then`, q.lowerAt(H, life.create).slice(0, 5));
      continue;
    }
    if (life.del <= H) stats.acquiredGone++;
    // Fenced writes: answered ones as answered.
    for (const w of a.fenced) {
      if (w.ret === undefined || !w.rev || w.rev > final) continue;
      if (w.ok) {
        const e = ref.eventAt(locks.fenceKey, w.rev);
        if (!e || e.type !== 'PUT' || e.value !== w.value) report('acknowledged fenced write missing', `${lockText(a)}: fenced write ${w.value} ${ms(w)} answered success, the history has ${e ? eventText(e) : 'nothing on the fence key'} at its revision`);
      } else if (a.create) {
        const s = ref.stateAt(a.key, w.rev);
        if (s.value !== null && s.create === a.create) report('fenced write refused while held', `${lockText(a)}: fenced write ${w.value} ${ms(w)} failed its compare, but ${a.key} was live with create revision ${a.create} at revision ${w.rev}`);
      }
    }
    // Unlock: the key is gone at its revision.
    if (a.unlock?.ret !== undefined && a.unlock.rev && a.unlock.rev <= final && ref.stateAt(a.key, a.unlock.rev).value !== null && ref.stateAt(a.key, a.unlock.rev).create === life.create) {
      report('unlock left the key', `${lockText(a)}: unlock ${ms(a.unlock)} answered, but ${a.key} c${life.create} was still there at its revision`);
    }
  }

  // (a) fence-key writes in the history: each from a fenced txn whose key was live and held the
  // lock; runs per acquisition do not interleave.
  const done = new Set<string>();
  let current: string | undefined;
  for (const e of ref.events) {
    if (e.key !== locks.fenceKey) continue;
    if (e.type !== 'PUT') {
      report('fence key deleted', `the fence key was deleted: ${eventText(e)}`);
      continue;
    }
    stats.fencedInHistory++;
    const src = byValue.get(e.value);
    if (!src) {
      report('phantom fenced write', `fence-key write nobody asked for: ${eventText(e)}`);
      continue;
    }
    const { a, w } = src;
    const C = a.create;
    const id = `${a.key}@${C}`;
    const before = ref.stateAt(a.key, e.rev - 1);
    if (!C || before.value === null || before.create !== C) {
      report(
        'fenced write without its lock key',
        `fenced write landed while its lock key was not the one it compared: ${eventText(e)} by ${lockText(a)}`,
        [`${a.key} at revision ${e.rev - 1}: ${before.value === null ? 'gone' : `c${before.create}`}; compared create revision ${C ?? '?'}`, `write: ${ms(w)}`],
      );
    } else if (q.at(e.rev - 1).min < C) {
      report('fenced write while not holding', `fenced write landed while ${a.key} c${C} did not hold the lock (a lower key was live): ${eventText(e)} by ${lockText(a)}`, q.lowerAt(e.rev - 1, C).slice(0, 5));
    }
    if (current !== id) {
      if (done.has(id)) report('interleaved holders', `fenced writes of ${id} resumed at revision ${e.rev} after ${current}'s: two holders' writes interleave`, [`write: ${eventText(e)} by ${lockText(a)}`]);
      if (current) done.add(current);
      current = id;
    }
  }
  close();
  return anomalies;
}

export function checkElections(history: History, el: ElectionHistory, ref: Reference, clock: RevisionClock, stats: CoordStats): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const { report, close } = reporter(anomalies, 'elections');
  const q = new Queue(ref, el.name);
  const final = ref.finalRevision;
  stats.leaderChanges = q.changes.filter((c) => c.rev <= final).length;

  // Every value under the name was written by a campaign (creating its key) or a proclaim (of that key's life).
  const written = new Map<string, { c: CampaignAttempt; proclaim: boolean }>();
  for (const c of el.campaigns) {
    written.set(c.value, { c, proclaim: false });
    for (const p of c.proclaims) written.set(p.value, { c, proclaim: true });
  }
  for (const e of ref.events) {
    if (!e.key.startsWith(el.name + '/') || e.type !== 'PUT') continue;
    const w = written.get(e.value);
    const ok = w && (w.proclaim ? w.c.key === e.key && w.c.create === e.create : e.create === e.rev && e.key.endsWith('/' + BigInt(w.c.lease).toString(16)));
    if (!ok) report('phantom election write', `election write nobody asked for (or of another key): ${eventText(e)}${w ? ` (value of ${campaignText(w.c)})` : ''}`);
  }

  for (const c of el.campaigns) {
    if (c.ret === undefined || !c.rev || !c.key || !c.create || c.create > final) continue;
    stats.leaders++;
    const life = q.life(c.key, c.create);
    if (!life || life.value !== c.value) {
      report('campaign not in history', `${campaignText(c)}: the history has ${life ? `value ${life.value} at its creation` : `no life of ${c.key} created at ${c.create}`}`);
      continue;
    }
    // Leader at some revision between its key's creation and the answer.
    const upper = Math.min(clock.upper(c.ret), final);
    if (!q.freeWithin(c.create, Math.max(c.create, upper), c.create)) {
      report(
        'answered leader while another led',
        `${campaignText(c)}: answered leader, but from its key's creation (${c.create}) to revision ${upper} (what a request invoked after the answer found) a key with a lower create revision was always live`,
        q.lowerAt(Math.max(c.create, upper), c.create).slice(0, 5),
      );
    }
    for (const p of c.proclaims) {
      if (p.ret === undefined) continue;
      if (p.ok) {
        stats.proclaimsOk++;
        if (!p.rev || p.rev > final) continue;
        const e = ref.eventAt(c.key, p.rev);
        if (!e || e.type !== 'PUT' || e.value !== p.value || e.create !== c.create) report('acknowledged proclaim missing', `${campaignText(c)}: proclaim ${p.value} ${ms(p)} answered success, the history has ${e ? eventText(e) : 'nothing on the key'} at its revision`);
        else if (q.at(p.rev - 1).min < c.create) report('proclaim while not leader', `${campaignText(c)}: proclaim ${p.value} ${ms(p)} succeeded while a lower key led`, q.lowerAt(p.rev - 1, c.create).slice(0, 5));
      } else if (p.ok === false) {
        stats.proclaimsRefused++;
        const by = Math.min(clock.upper(p.ret), final);
        if (life.del > by) report('proclaim refused while leader', `${campaignText(c)}: proclaim ${p.value} ${ms(p)} answered "not leader", but its key lived until ${life.del === Infinity ? 'the end' : life.del}, after revision ${by} (what a request invoked after the answer found)`);
      }
    }
    if (c.resign?.ret !== undefined && c.resign.rev && c.resign.rev <= final && life.del > c.resign.rev) {
      report('resign left the key', `${campaignText(c)}: resign ${ms(c.resign)} answered, but the key lived until ${life.del === Infinity ? 'the end' : life.del}`);
    }
  }

  // Observers.
  const G = q.changes;
  const idx = new Map<string, number>(G.map((g, i) => [`${g.key}@${g.mod}`, i]));
  const show = (l: ObservedLeader) => `${l.key}=${l.value} c${l.create} m${l.mod} (line at revision ${l.rev})`;
  const same = (l: ObservedLeader, g: LeaderAt | undefined) => !!g && g.key === l.key && g.mod === l.mod && g.create === l.create && g.value === l.value;
  const lastChange = G.filter((g) => g.rev <= final).pop();
  for (const o of el.observers) {
    let seen = 0;
    let problems = 0;
    const bad = (kind: string, m: string, d?: string[]) => {
      if (problems++ < 3) report(kind, `observer ${o.id}: ${m}`, d);
    };
    for (const [si, s] of o.sessions.entries()) {
      stats.observerSessions++;
      let pos = -1;
      let prevRev = 0;
      for (const [li, l] of s.lines.entries()) {
        if (l.rev > final) break;
        stats.observedEvents++;
        if (li === 0 && s.resumeAfter !== undefined) {
          // Resumed after its last event id: the stream goes on with the next change, on any member.
          const next = G.findIndex((g) => g.rev > s.resumeAfter!);
          if (!same(l, G[next]) || G[next].rev !== l.rev) {
            const at = idx.get(`${l.key}@${l.mod}`);
            bad(
              at !== undefined && at > next ? 'observer skipped a change' : 'observer line not in history',
              `session ${si} (m${s.member}) resumed after revision ${s.resumeAfter} with ${show(l)}, but the next leader change is ${G[next] ? `${G[next].key}=${G[next].value} c${G[next].create} m${G[next].mod} at ${G[next].rev}` : '(none)'}`,
            );
          }
          pos = idx.get(`${l.key}@${l.mod}`) ?? next;
        } else if (li === 0) {
          if (l.rev < seen) bad('observer went back', `session ${si} (m${s.member}) started at revision ${l.rev}, before revision ${seen} that an earlier session had already shown`, [show(l)]);
          const now = q.at(l.rev).leader;
          if (!same(l, now)) {
            bad('observed a leader that was not', `session ${si} (m${s.member}) began with ${show(l)}, but the leader at revision ${l.rev} was ${now ? `${now.key}=${now.value} c${now.create} m${now.mod}` : 'nobody'}`);
            break;
          }
          pos = idx.get(`${l.key}@${l.mod}`) ?? -1;
        } else {
          const want = G[pos + 1];
          if (l.rev <= prevRev) bad('observer out of order', `session ${si} (m${s.member}): line at revision ${l.rev} after one at ${prevRev}`, [show(l)]);
          if (same(l, want) && want.rev === l.rev) pos++;
          else {
            const at = idx.get(`${l.key}@${l.mod}`);
            if (at !== undefined && at > pos + 1 && same(l, G[at]) && G[at].rev === l.rev) {
              bad('observer skipped a change', `session ${si} (m${s.member}): skipped ${at - pos - 1} leader changes before ${show(l)}`, G.slice(pos + 1, Math.min(at, pos + 4)).map((g) => `missing: ${g.key}=${g.value} c${g.create} m${g.mod}`));
              pos = at;
            } else {
              bad('observer line not in history', `session ${si} (m${s.member}): ${show(l)} is not the next leader change`, [`expected: ${want ? `${want.key}=${want.value} c${want.create} m${want.mod} at ${want.rev}` : '(no more changes)'}`]);
              if (at !== undefined) pos = at;
            }
          }
        }
        prevRev = l.rev;
        seen = Math.max(seen, l.rev);
      }
    }
    const last = o.sessions[o.sessions.length - 1];
    const lastLine = last?.lines.filter((l) => l.rev <= final).pop();
    if (last && last.endReason === 'harness stopped' && lastLine && lastChange && lastLine.rev < lastChange.rev) {
      bad('observer fell behind', `its open stream (m${last.member}) ended at ${show(lastLine)}, but the last leader change was at revision ${lastChange.rev}`);
    }
    if (problems > 3) report('observer problems', `observer ${o.id}: ${problems - 3} more problems`);
  }
  close();
  return anomalies;
}

/** Both checkers (when their workloads ran). */
export function checkCoordination(history: History, ref: Reference): { anomalies: Anomaly[]; stats: CoordStats } {
  const stats = emptyCoordStats();
  const anomalies: Anomaly[] = [];
  if (history.locks) anomalies.push(...checkLocks(history, history.locks, ref, stats));
  if (history.elections) anomalies.push(...checkElections(history, history.elections, ref, new RevisionClock(history), stats));
  return { anomalies, stats };
}
