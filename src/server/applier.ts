import type { Lessor } from '../lease/lessor.ts';
import { decodeConfChange, type ConfChange, type ConfState, type Entry } from '../raft/index.ts';
import { applyCompaction, applyDeleteRange, applyPut, applyTxn, type KvContext, type Waits } from './apply-kv.ts';
import { AlarmAction, type AlarmMember, Alarms, AlarmType } from './alarms.ts';
import type { AppliedLane } from './applied-lane.ts';
import type { Clock } from './clock.ts';
import type { Membership } from './membership.ts';
import type { Proposals } from './proposals.ts';
import { writeCost } from './quota.ts';
import { decodeRaftRequest, type RaftRequest } from './raft-request.ts';
import { applyAuthRequest, type AuthInfo, type AuthStore, checkDeleteRange, checkLeaseRevoke, checkPut, checkTxn, NO_AUTH, type TokenProvider } from '../auth/index.ts';
import { Errors } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';

export interface LeaseGrantResult {
  header: { revision: number };
  ID: bigint;
  TTL: number;
}

export interface ApplierOptions {
  kv: KvContext;
  auth: AuthStore;
  /** The token provider (simple tokens are registered on every member as their entry applies). */
  tokens(): TokenProvider | undefined;
  alarms: Alarms;
  lessor: Lessor;
  lane: AppliedLane;
  membership: Membership;
  proposals: Proposals;
  clock: Clock;
  /** Hands a committed conf change to raft; returns the configuration it leaves. */
  applyConfChange(cc: ConfChange, index: number): ConfState;
  log: Logger;
}

/** etcd warns when applying one entry takes longer than this. */
const SLOW_APPLY_MS = 100;

export const settle = (waits: Waits): Promise<void> | undefined => (waits.length ? Promise.all(waits).then(() => undefined) : undefined);

/**
 * Applies committed entries in log order, once each: key-space writes, lease changes and
 * membership, answering the proposer when the entry is this member's. What a write changed leaves
 * the key-value store through its write sink (see Member), not through here.
 */
export class Applier {
  /** The last log index applied to the state machine. */
  index = 0;

  constructor(private readonly o: ApplierOptions) {}

  apply(e: Entry): void {
    if (e.type === 'confChange') {
      this.applyConfChange(e);
      return;
    }
    if (e.index <= this.index) return;
    this.index = e.index;
    if (e.data.length === 0) return;
    const t0 = performance.now();
    const req = decodeRaftRequest(e.data);
    this.applyRequest(req);
    const took = performance.now() - t0;
    if (took > SLOW_APPLY_MS) this.o.log.warn({ index: e.index, request: Object.keys(req).filter((k) => k !== 'id'), tookMs: Math.round(took) }, 'apply request took too long');
  }

  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    // Raft replays conf changes the snapshot already covered, to rebuild its configuration; the tables have them.
    this.o.applyConfChange(cc, e.index);
    if (e.index <= this.index) return;
    this.index = e.index;
    const requestId = this.o.membership.applyConfChange(cc);
    this.o.log.info({ index: e.index, change: cc.type, member: cc.nodeId }, 'membership changed');
    if (requestId) this.o.proposals.applied(requestId, { resp: [...this.o.membership.members.values()] });
  }

  private applyRequest(req: RaftRequest): void {
    const waits: Waits = [];
    try {
      const resp = this.dispatch(req, waits);
      this.o.proposals.applied(req.id, { resp, done: settle(waits) });
    } catch (err) {
      this.o.proposals.failed(req.id, err);
    }
  }

  /**
   * With an alarm raised, etcd's applier is capped: NOSPACE refuses what could grow the database
   * (puts, txns with puts, lease grants); CORRUPT refuses every write. Decided at apply time, so
   * every member refuses the same entries.
   */
  private capped(req: RaftRequest): void {
    const { alarms } = this.o;
    if (alarms.has(AlarmType.CORRUPT) && (req.put || req.deleteRange || req.txn || req.compaction || req.leaseGrant || req.leaseRevoke)) throw Errors.corrupt();
    if (alarms.has(AlarmType.NOSPACE) && writeCost(req) > 0) throw Errors.noSpace();
  }

  private alarm(a: NonNullable<RaftRequest['alarm']>): { alarms: AlarmMember[] } {
    const { alarms, lane } = this.o;
    const type = a.alarm as AlarmType;
    const changed = a.action === AlarmAction.ACTIVATE ? alarms.activate(a.memberID, type) : alarms.deactivate(a.memberID, type);
    if (changed) this.o.log.warn({ member: a.memberID.toString(16), alarm: type, raised: a.action === AlarmAction.ACTIVATE }, a.action === AlarmAction.ACTIVATE ? 'alarm raised' : 'alarm cleared');
    lane.setMeta('alarms', alarms.toJSON());
    // etcd answers the alarm itself on activate, even when it was raised already.
    const answered = a.action === AlarmAction.ACTIVATE ? alarms.list(type).find((m) => m.memberID === a.memberID) : changed;
    return { alarms: answered ? [answered] : [] };
  }

  /**
   * etcd's authApplierV3: with auth on, a client's write is checked at apply as the user its entry
   * names, against the permissions of that moment, on every member alike.
   */
  private permitted(req: RaftRequest, ai: AuthInfo): void {
    const { auth, lessor } = this.o;
    if (!auth.enabled || req.internal) return;
    const leaseKeys = (id: bigint) => lessor.get(id)?.keys;
    const denied =
      (req.put && checkPut(auth, ai, req.put, leaseKeys)) ||
      (req.deleteRange && checkDeleteRange(auth, ai, req.deleteRange)) ||
      (req.txn && checkTxn(auth, ai, req.txn, leaseKeys)) ||
      (req.leaseRevoke && checkLeaseRevoke(auth, ai, req.leaseRevoke.ID, leaseKeys)) ||
      undefined;
    if (denied) throw denied;
  }

  private applyAuth(r: NonNullable<RaftRequest['auth']>, ai: AuthInfo): unknown {
    const { auth, lane } = this.o;
    const before = auth.revision;
    const enabled = auth.enabled;
    const result: Record<string, unknown> = { ...applyAuthRequest(auth, r, ai) };
    if (r.authenticate && result.authenticated) {
      const p = this.o.tokens();
      if (p?.assignOnEveryMember) result.token = p.assign({ ...(result.authenticated as AuthInfo), index: this.index, simpleToken: r.authenticate.simpleToken }, this.o.clock.now());
      result.index = this.index;
    }
    if (auth.revision !== before || auth.enabled !== enabled) {
      lane.setMeta('auth', JSON.stringify(auth.snapshot()));
      this.o.log.info({ revision: auth.revision, enabled: auth.enabled, change: Object.keys(r)[0] }, 'auth changed');
    }
    return { ...result, header: { revision: this.o.kv.store.currentRev }, authRevision: auth.revision };
  }

  private dispatch(req: RaftRequest, waits: Waits): unknown {
    const { kv, lessor, lane } = this.o;
    const ai = req.header ? { username: req.header.username, revision: req.header.authRevision } : NO_AUTH;
    if (req.auth) return this.applyAuth(req.auth, ai);
    this.permitted(req, ai);
    this.capped(req);
    if (req.alarm) return this.alarm(req.alarm);
    if (req.put) return applyPut(kv, undefined, req.put);
    if (req.deleteRange) return applyDeleteRange(kv, undefined, req.deleteRange);
    if (req.txn) return applyTxn(kv, req.txn, waits);
    if (req.compaction) {
      const resp = applyCompaction(kv, req.compaction);
      const flushed = lane.compact(req.compaction.revision);
      this.o.log.info({ revision: req.compaction.revision }, 'compacted');
      if (req.compaction.physical) waits.push(flushed);
      return resp;
    }
    if (req.leaseGrant) {
      const lease = lessor.grant(req.leaseGrant.ID, req.leaseGrant.TTL, this.o.clock.now());
      lane.leaseOp({ id: lease.id, ttl: lease.ttl });
      return { header: { revision: kv.store.currentRev }, ID: lease.id, TTL: lease.ttl } satisfies LeaseGrantResult;
    }
    if (req.leaseRevoke) {
      const keys = lessor.revoke(req.leaseRevoke.ID);
      const txn = kv.store.write();
      for (const key of keys) txn.deleteRange(key, undefined);
      txn.end();
      lane.leaseOp({ id: req.leaseRevoke.ID });
      return { header: { revision: kv.store.currentRev } };
    }
    if (req.leaseCheckpoint) {
      const now = this.o.clock.now();
      for (const c of req.leaseCheckpoint.checkpoints) {
        lessor.checkpoint(c.ID, c.remaining, now);
        const l = lessor.get(c.ID);
        if (l) lane.leaseOp({ id: l.id, ttl: l.ttl, remaining: l.remaining });
      }
      return {};
    }
    if (req.memberAttrs) return this.o.membership.applyAttrs(req.memberAttrs);
    return undefined;
  }
}
