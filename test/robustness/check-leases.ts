import { describeOp, type Anomaly } from './check-registers.ts';
import type { History, KvOp, LeaseRecord } from './history.ts';
import type { Reference } from './reference.ts';

/**
 * Leases, from the harness's probes (linearizable reads of each lease's key):
 *
 * - no key outlives its lease by more than a bound: once the lease's last renewal (or grant) is
 *   TTL + election timeout + `lateMs` old, and no leader change since could have restarted the
 *   clock, a read must find the key gone. A new leader gives every lease up to its full TTL plus
 *   an election timeout again (etcd's rule too), so the deadline counts from the latest leader
 *   change, whichever is later; a change counts from the moment the harness first saw it (its
 *   monitor, or an answer with a new raft term), which may be up to `observeLagMs` after the read
 *   was sent. A renewal whose answer never came may have been
 *   applied late: it counts as a renewal up to `unknownRenewalMs` after it was sent.
 * - no key dies early: until TTL after the last renewal the client saw succeed (counted from the
 *   moment it sent it, which is before the leader applied it), the key must still be there.
 * - every lease that stopped being renewed is gone by the end.
 */

export interface LeaseBounds {
  electionTimeoutMs: number;
  lateMs: number;
  earlyMarginMs: number;
  unknownRenewalMs: number;
  /** How late the harness may notice a leader change. */
  observeLagMs: number;
}

export function checkLeases(history: History, ref: Reference | undefined, bounds: LeaseBounds): { anomalies: Anomaly[]; probes: number } {
  const anomalies: Anomaly[] = [];
  const byId = new Map<number, KvOp>(history.ops.map((o) => [o.id, o]));
  const probesOf = new Map<string, KvOp[]>();
  for (const op of history.ops) {
    if (op.kind !== 'get' || op.ret === undefined) continue;
    const l = probesOf.get(op.key);
    if (l) l.push(op);
    else probesOf.set(op.key, [op]);
  }
  // When leadership changed, as late as it may have: the monitor's sightings (it polls, so it sees a
  // change up to `observeLagMs` after it happened) and the first answer carrying each new term.
  const changes = history.leaderChanges.map((c) => c.at);
  const firstOfTerm = new Map<number, number>();
  for (const op of history.ops) {
    if (op.term === undefined || op.ret === undefined) continue;
    const t = firstOfTerm.get(op.term);
    if (t === undefined || op.ret < t) firstOfTerm.set(op.term, op.ret);
  }
  changes.push(...firstOfTerm.values());
  changes.sort((a, b) => a - b);
  const lastChangeBefore = (t: number) => {
    let at = -Infinity;
    for (const c of changes) if (c <= t + bounds.observeLagMs) at = Math.min(c, t);
    return at;
  };
  // When the final state was read: the last answer of the run.
  let end = 0;
  for (const op of history.ops) if (op.ret !== undefined && op.ret > end) end = op.ret;
  let probes = 0;
  for (const l of history.leases) {
    const put = l.putOp !== undefined ? byId.get(l.putOp) : undefined;
    if (!put || put.ret === undefined) continue; // the key may never have existed
    const ps = (probesOf.get(l.key) ?? []).filter((p) => p.call > put.ret!);
    probes += ps.length;
    const ttlMs = l.ttl * 1000;
    // Latest moment a renewal may have restarted the clock.
    let lastRenew = l.grantRet ?? l.grantCall + bounds.unknownRenewalMs;
    // Latest renewal known to have succeeded, from the moment it was sent.
    let confirmed = l.grantCall;
    for (const r of l.renewals) {
      if (r.ret === undefined) lastRenew = Math.max(lastRenew, r.call + bounds.unknownRenewalMs);
      else if ((r.ttl ?? 0) > 0) {
        lastRenew = Math.max(lastRenew, r.ret);
        confirmed = Math.max(confirmed, r.call);
      }
    }
    const tag = `lease ${l.id} (TTL ${l.ttl} s, key ${l.key})`;
    // A read takes effect somewhere between its call and its return: a leader change up to its return
    // may have extended the lease before it read.
    const late = ps.find((p) => {
      if (p.read === null) return false;
      const from = Math.max(lastRenew, lastChangeBefore(p.ret!));
      return p.call > from + ttlMs + bounds.electionTimeoutMs + bounds.lateMs;
    });
    if (late) {
      const from = Math.max(lastRenew, lastChangeBefore(late.ret!));
      anomalies.push({
        checker: 'leases',
        key: l.key,
        message: `${tag}: key outlived its lease: still there ${((late.call - from) / 1000).toFixed(1)} s after the last renewal or leader change (at ${from.toFixed(0)} ms)`,
        details: [describeOp(late), `renewals: ${l.renewals.map((r) => `${r.call.toFixed(0)}..${r.ret?.toFixed(0) ?? '?'}:${r.ttl ?? '?'}`).join(' ')}`],
      });
    }
    const early = ps.find((p) => p.read === null && p.ret! < confirmed + ttlMs - bounds.earlyMarginMs);
    if (early) {
      anomalies.push({
        checker: 'leases',
        key: l.key,
        message: `${tag}: key gone early: read absent ${((confirmed + ttlMs - early.ret!) / 1000).toFixed(2)} s before TTL ran out after a confirmed renewal sent at ${confirmed.toFixed(0)} ms`,
        details: [describeOp(early), `renewals: ${l.renewals.map((r) => `${r.call.toFixed(0)}..${r.ret?.toFixed(0) ?? '?'}:${r.ttl ?? '?'}`).join(' ')}`, `leader changes: ${history.leaderChanges.filter((c) => Math.abs(c.at - early.ret!) < 30_000).map((c) => `${c.at.toFixed(0)}:m${c.leader}/t${c.term}`).join(' ')}`],
      });
    }
    // Every leader change gives a lease its TTL again (etcd's rule): one still there at the end must
    // have had its whole TTL since its last renewal and since the last leader change before the end.
    if (ref && l.stoppedAt !== undefined && ref.stateAt(l.key, ref.finalRevision).value !== null) {
      const from = Math.max(lastRenew, lastChangeBefore(end));
      if (end > from + ttlMs + bounds.electionTimeoutMs + bounds.lateMs) {
        anomalies.push({ checker: 'leases', key: l.key, message: `${tag}: never expired (still there at the final revision ${ref.finalRevision}, ${((end - from) / 1000).toFixed(1)} s after the last renewal or leader change)` });
      }
    }
  }
  return { anomalies, probes };
}

export type { LeaseRecord };
