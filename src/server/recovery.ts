import { randomBytes } from 'node:crypto';
import type { Lessor } from '../lease/lessor.ts';
import type { KvStore } from '../mvcc/kv-store.ts';
import { type AuthStore, emptyAuthSnapshot } from '../auth/index.ts';
import type { Alarms } from './alarms.ts';
import { bootstrapMemoryStorage, MemoryStorage, mulberry32, RawNode } from '../raft/index.ts';
import type { MemberRow } from '../storage/rows.ts';
import type { MemberStore, StateStore } from '../storage/stores.ts';
import { type Identity, nodeIdOf } from './cluster-ids.ts';

export type { Identity } from './cluster-ids.ts';
import { toRaftEntry } from './log-lane.ts';

export interface StateTargets {
  kv: KvStore;
  lessor: Lessor;
  alarms: Alarms;
  auth: AuthStore;
  /** The applied index and members the tables hold. */
  loaded(appliedIndex: number, members: MemberRow[]): void;
}

const EMPTY = new Uint8Array(0);
const randomId = () => randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn;

/** Rebuilds the in-memory state (key index, live values, leases, members) from the tables. */
export async function loadState(state: StateStore, t: StateTargets): Promise<void> {
  t.kv.reset();
  t.lessor.reset();
  const applied = Number((await state.getMeta('consistent_index')) ?? 0);
  t.kv.compactRev = Number((await state.getMeta('compact_rev')) ?? -1);
  t.alarms.load(await state.getMeta('alarms'));
  const auth = await state.getMeta('auth');
  t.auth.restore(auth ? JSON.parse(auth) : emptyAuthSnapshot());
  let rev = Number((await state.getMeta('revision')) ?? 1);
  const index = t.kv.index;
  // One pass in key order: each key's revisions oldest first, the live value with its newest.
  let ki: ReturnType<typeof index.getOrCreate> | undefined;
  await state.forEachRow((r) => {
    if (!ki || ki.key !== r.key) ki = index.getOrCreate(r.key);
    ki.restore({ main: r.main, sub: r.sub }, r.createRev, r.version, r.tombstone);
    if (r.value !== undefined) ki.latest = { key: r.key, value: r.value, createRevision: r.createRev, modRevision: r.main, version: r.version, lease: r.lease };
    if (r.main > rev) rev = r.main;
  });
  t.kv.currentRev = rev;
  for (const l of await state.leases()) t.lessor.restore(l.id, l.ttl, l.remaining);
  for (const k of index.entries()) if (k.latest && k.latest.lease !== 0n) t.lessor.attach(k.latest.lease, k.key);
  t.loaded(applied, await state.members());
}

export interface RecoverOptions {
  store: MemberStore;
  name: string;
  identity?: Identity;
  electionTick: number;
  /** Loads the applied state (see loadState); members are known once it returns. */
  loadState(): Promise<void>;
  /** The member list loadState left, for the bootstrap and a joining member's view to fill in. */
  members(): Map<bigint, MemberRow>;
}

export interface Recovered {
  memberId: bigint;
  clusterId: bigint;
  selfNode: string;
  storage: MemoryStorage;
  node: RawNode;
  term: number;
}

/**
 * A member's start: its identity (stored, or given for a new member), the applied state, then
 * raft's log and hard state; a brand-new cluster's first configuration is recorded first.
 */
export async function recover(o: RecoverOptions): Promise<Recovered> {
  const { store, identity: ident } = o;
  const storedId = await store.state.getMeta('member_id');
  const fresh = storedId === undefined;
  const memberId = storedId ? BigInt(storedId) : (ident?.memberId ?? randomId());
  const storedCluster = await store.state.getMeta('cluster_id');
  const clusterId = storedCluster ? BigInt(storedCluster) : (ident?.clusterId ?? randomId());
  if (fresh) {
    await store.state.putMeta('member_id', memberId.toString());
    await store.state.putMeta('cluster_id', clusterId.toString());
  }
  const selfNode = nodeIdOf(memberId);
  await o.loadState();

  const storage = new MemoryStorage();
  const snap = await store.log.raftSnapshot();
  const hs = await store.log.hardState();
  if (!snap && !hs && fresh && (ident?.initialMembers || !ident)) {
    // A brand-new cluster: every initial member bootstraps the same first configuration.
    const initial = ident?.initialMembers ?? [{ id: memberId, name: o.name, peerUrls: [], clientUrls: [], isLearner: false }];
    bootstrapMemoryStorage(
      storage,
      initial.map((m) => nodeIdOf(m.id)),
    );
    await store.bootstrap({
      hardState: { term: 1, vote: '', commit: 1 },
      snapshot: storage.snapshot().metadata,
      memberOps: initial.map((m) => ({ id: m.id, member: m })),
      appliedIndex: 1,
    });
    // The tables now hold the first configuration at index 1: memory follows them.
    await o.loadState();
  } else if (snap) {
    storage.applySnapshot({ metadata: snap, data: EMPTY });
    // The stored commit index may trail the snapshot: raft raises it (a snapshot is committed).
    if (hs) storage.setHardState(hs);
    const entries = await store.log.entriesAfter(snap.index);
    if (entries.length) storage.append(entries.map(toRaftEntry));
  }
  const members = o.members();
  if (members.size === 0) for (const m of ident?.knownMembers ?? []) members.set(m.id, m);
  if (ident && !members.has(memberId)) members.set(memberId, ident.self);
  // Raft hands back every committed entry after the snapshot, even those the tables already hold:
  // its configuration starts from the snapshot's and must see the conf changes made since.
  const node = new RawNode({
    id: selfNode,
    electionTick: o.electionTick,
    heartbeatTick: 1,
    storage,
    applied: storage.firstIndex() - 1,
    maxSizePerMsg: 1 << 20,
    maxInflightMsgs: 256,
    checkQuorum: true,
    preVote: true,
    random: mulberry32(randomBytes(4).readUInt32LE()),
    asyncStorageWrites: true,
  });
  return { memberId, clusterId, selfNode, storage, node, term: storage.initialState().hardState.term };
}
