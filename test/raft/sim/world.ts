// A seeded simulation of a Raft cluster: members built on the real RawNode,
// a virtual network that drops, delays, duplicates and reorders messages and
// can be partitioned (symmetric and one-way), crashes that lose everything not
// persisted, restarts from the persisted MemoryStorage, membership changes,
// leader transfers, ReadIndex reads and snapshots, all driven by one seed.
// Invariants are checked after every event; at the end the network heals and
// every acknowledged proposal must be applied by every member (liveness).
import {
  decodeConfChange,
  bootstrapMemoryStorage,
  MemoryStorage,
  mulberry32,
  mixSeed,
  RaftError,
  Rand,
  RawNode,
  sendableBeforePersist,
  type ConfChange,
  type Config,
  type Message,
  type NodeId,
  type Ready,
} from '../../../src/raft/index.ts';
import { Outbox } from '../../../src/transport/outbox.ts';
import { chain, decodeApp, encodeApp, entryKey, type AppState } from './app.ts';
import { EventQueue } from './heap.ts';
import { Checker, InvariantError } from './invariants.ts';

/** Virtual time units per tick. */
const TICK = 10;

export interface SimOptions {
  seed: number;
  /** Initial voters: 3, 5 or 7. */
  members: number;
  /** Ticks of chaos before the network heals. Default: random in [120, 300]. */
  chaosTicks?: number;
  /** Ticks the healed cluster gets to converge. */
  healTicks?: number;
  /** Keep a trace of the last events, printed on failure. */
  trace?: boolean;
  /** Readys in flight per member (asynchronous storage writes); 0 for synchronous Readys. Default: chosen by the seed. */
  asyncWrites?: number;
  /** Messages to a peer wait in an Outbox (src/transport) as the member's transport keeps them, coalesced, until a flush. Default: chosen by the seed. */
  coalesce?: boolean;
}

export interface SimStats {
  events: number;
  messages: number;
  /** Messages an Outbox left out or joined to another (coalescing seeds). */
  coalesced: number;
  dropped: number;
  proposals: number;
  acked: number;
  crashes: number;
  confChanges: number;
  snapshotsSent: number;
  reads: number;
  transfers: number;
  leaders: number;
  ticks: number;
}

export interface SimResult {
  seed: number;
  members: number;
  ok: boolean;
  error?: string;
  stats: SimStats;
  params: string;
  trace?: string[];
}

type Ev =
  | { at: number; seq: number; kind: 'tick'; id: NodeId; inc: number }
  | { at: number; seq: number; kind: 'deliver'; m: Message }
  | { at: number; seq: number; kind: 'persist'; id: NodeId; inc: number }
  | { at: number; seq: number; kind: 'chaos' }
  | { at: number; seq: number; kind: 'restart'; id: NodeId }
  | { at: number; seq: number; kind: 'snapStatus'; id: NodeId; to: NodeId; ok: boolean }
  | { at: number; seq: number; kind: 'unreachable'; id: NodeId; to: NodeId }
  | { at: number; seq: number; kind: 'flush'; link: string; from: NodeId; inc: number };

class SimNode {
  raw: RawNode | null = null;
  /** Incarnation: bumped at every crash so that events of a dead process are ignored. */
  inc = 0;
  /** Readys being written, oldest first (more than one with asynchronous writes). */
  pending: Ready[] = [];
  /** When the last write in flight completes: writes complete in the order they were issued. */
  writesDoneAt = 0;
  app: AppState;
  /** The node process was stopped for good (removed from the cluster). */
  stopped = false;
  wasLeaderInTerm = -1;
  phase: number;

  constructor(
    readonly id: NodeId,
    /** The "disk": survives crashes. */
    readonly storage: MemoryStorage,
    phase: number,
  ) {
    this.phase = phase;
    const snap = storage.snapshot();
    this.app = { index: snap.metadata.index, hash: 0, confState: snap.metadata.confState };
  }
}

const td = new TextDecoder();
const te = new TextEncoder();

export class World {
  readonly rand: Rand;
  readonly q = new EventQueue<Ev>();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly checker: Checker;
  now = 0;
  healed = false;
  stats: SimStats = {
    events: 0,
    messages: 0,
    coalesced: 0,
    dropped: 0,
    proposals: 0,
    acked: 0,
    crashes: 0,
    confChanges: 0,
    snapshotsSent: 0,
    reads: 0,
    transfers: 0,
    leaders: 0,
    ticks: 0,
  };

  // fault parameters (chosen from the seed)
  readonly dropRate: number;
  readonly dupRate: number;
  readonly maxDelay: number;
  readonly reorderRate: number;
  readonly persistMax: number;
  /** Readys a member may have in flight (asynchronous storage writes); 0: one Ready at a time, advance(). */
  readonly asyncWrites: number;
  /** Messages go through a per-link Outbox, as the member's transport sends them. */
  readonly coalesce: boolean;
  private readonly outboxes = new Map<string, Outbox>();
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly heartbeatTick: number;
  readonly electionTick = 10;
  readonly maxSizePerMsg: number;
  readonly maxInflight: number;
  readonly snapEvery: number;
  readonly chaosTicks: number;
  readonly healTicks: number;
  readonly intensity: { propose: number; read: number; partition: number; crash: number; conf: number; transfer: number };

  /** Links currently cut, as "from->to". */
  private cut = new Set<string>();
  private nextSpare: number;
  private everMember = new Set<NodeId>();
  private proposalSeq = 0;
  private starts = 0;
  /** Proposal key -> index where it was first applied. */
  private ackedAt = new Map<string, number>();
  /** ReadIndex context -> max commit index known anywhere when the read was issued. */
  private reads = new Map<string, number>();
  private traceBuf: string[] | null;
  private finalKey: string | null = null;
  private finalProposedAt = -1;

  constructor(readonly opts: SimOptions) {
    this.rand = new Rand(opts.seed);
    const r = this.rand;
    this.dropRate = r.pick([0, 0.01, 0.03, 0.08, 0.15]);
    this.dupRate = r.pick([0, 0.01, 0.05]);
    this.maxDelay = r.range(1, 2 * TICK);
    this.reorderRate = r.pick([0, 0.02, 0.1]);
    this.persistMax = r.range(0, 8);
    this.preVote = r.chance(0.8);
    this.checkQuorum = r.chance(0.8);
    this.heartbeatTick = r.pick([1, 2, 3]);
    this.maxSizePerMsg = r.pick([1, 100, 400, 4096, 1 << 20]);
    this.maxInflight = r.pick([1, 2, 4, 16, 256]);
    this.snapEvery = r.pick([5, 10, 25, 60, 1000]);
    this.chaosTicks = opts.chaosTicks ?? r.range(120, 300);
    this.healTicks = opts.healTicks ?? 600;
    const lvl = () => r.pick([0, 0.5, 1, 2, 4]);
    this.intensity = { propose: 1, read: lvl(), partition: lvl(), crash: lvl(), conf: lvl(), transfer: lvl() };
    if (r.chance(0.25)) {
      // a storm: leaders are cut off and crash all the time, so that many terms leave divergent log tails
      this.intensity.partition = 10;
      this.intensity.crash = r.pick([2, 6]);
    }
    // From a stream of its own, so that the other parameters of a seed stay what they were.
    const ar = new Rand(mixSeed(opts.seed, 7));
    this.asyncWrites = opts.asyncWrites ?? (ar.chance(0.5) ? ar.pick([1, 2, 3, 8]) : 0);
    this.coalesce = opts.coalesce ?? new Rand(mixSeed(opts.seed, 11)).chance(0.5);
    this.traceBuf = opts.trace ? [] : null;
    this.checker = new Checker(1, 1);

    const voters = Array.from({ length: opts.members }, (_, i) => `n${i + 1}`);
    this.nextSpare = opts.members + 1;
    for (const id of voters) {
      const st = new MemoryStorage();
      bootstrapMemoryStorage(st, voters);
      this.addNode(id, st);
      this.everMember.add(id);
    }
    this.q.push({ at: 1, kind: 'chaos' });
  }

  params(): string {
    const i = this.intensity;
    return (
      `members=${this.opts.members} drop=${this.dropRate} dup=${this.dupRate} delay<=${this.maxDelay} reorder=${this.reorderRate} ` +
      `persist<=${this.persistMax} async=${this.asyncWrites} coalesce=${this.coalesce} preVote=${this.preVote} checkQuorum=${this.checkQuorum} hb=${this.heartbeatTick} ` +
      `maxSize=${this.maxSizePerMsg} inflight=${this.maxInflight} snapEvery=${this.snapEvery} chaos=${this.chaosTicks} ` +
      `read=${i.read} partition=${i.partition} crash=${i.crash} conf=${i.conf} transfer=${i.transfer}`
    );
  }

  private trace(s: string): void {
    if (this.traceBuf) {
      this.traceBuf.push(`${this.now} ${s}`);
      if (this.traceBuf.length > 400) this.traceBuf.splice(0, 100);
    }
  }

  // ------------------------------------------------------------------ nodes

  private config(id: NodeId, storage: MemoryStorage): Config {
    return {
      id,
      electionTick: this.electionTick,
      heartbeatTick: this.heartbeatTick,
      storage,
      maxSizePerMsg: this.maxSizePerMsg,
      maxInflightMsgs: this.maxInflight,
      checkQuorum: this.checkQuorum,
      preVote: this.preVote,
      // Every process start gets its own stream (two members with equal streams would split votes forever).
      random: mulberry32(mixSeed(this.opts.seed, 1000 + this.starts++)),
      asyncStorageWrites: this.asyncWrites > 0,
    };
  }

  private addNode(id: NodeId, storage: MemoryStorage): SimNode {
    const n = new SimNode(id, storage, this.rand.int(TICK));
    this.nodes.set(id, n);
    this.start(n);
    return n;
  }

  /** Starts (or restarts) a node process from what its storage holds, and nothing else. */
  private start(n: SimNode): void {
    const snap = n.storage.snapshot();
    n.app = decodeApp(snap.data, { index: snap.metadata.index, hash: 0, confState: snap.metadata.confState });
    n.app.confState = snap.metadata.confState;
    if (n.app.index !== snap.metadata.index) this.checker.fail(`restart: ${n.id} snapshot data at ${n.app.index} != ${snap.metadata.index}`);
    n.raw = new RawNode({ ...this.config(n.id, n.storage), applied: snap.metadata.index });
    n.pending = [];
    this.scheduleTick(n);
  }

  private crash(n: SimNode): void {
    this.trace(`crash ${n.id}`);
    n.raw = null;
    n.pending = [];
    n.inc++;
    this.stats.crashes++;
  }

  private scheduleTick(n: SimNode): void {
    const base = Math.floor(this.now / TICK) * TICK + TICK + n.phase;
    this.q.push({ at: base, kind: 'tick', id: n.id, inc: n.inc });
  }

  private up(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.raw) out.push(n);
    return out;
  }

  /** The up member that is leader in the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.raw && n.raw.raft.role === 'leader' && (!best || n.raw.raft.term > best.raw!.raft.term)) best = n;
    }
    return best;
  }

  // ------------------------------------------------------------------ network

  private blocked(from: NodeId, to: NodeId): boolean {
    return this.cut.size > 0 && this.cut.has(`${from}->${to}`);
  }

  private send(m: Message): void {
    this.stats.messages++;
    if (this.coalesce && m.type !== 'MsgSnap') {
      // As the transport does: whatever gathers for a peer before its flush goes out as one batch.
      const link = `${m.from}->${m.to}`;
      let box = this.outboxes.get(link);
      if (!box) this.outboxes.set(link, (box = new Outbox()));
      if (box.size === 0) this.q.push({ at: this.now + this.rand.range(0, 2), kind: 'flush', link, from: m.from, inc: this.nodes.get(m.from)!.inc });
      box.push(m);
      return;
    }
    this.transmit(m);
  }

  private flush(link: string, from: NodeId, inc: number): void {
    const box = this.outboxes.get(link);
    const pushed = box?.pushed ?? 0;
    const msgs = box?.take() ?? [];
    this.stats.coalesced += pushed - msgs.length;
    // A crash loses what was waiting to be sent.
    if (this.nodes.get(from)?.inc !== inc) return;
    for (const m of msgs) this.transmit(m);
  }

  private transmit(m: Message): void {
    if (m.type === 'MsgSnap') this.stats.snapshotsSent++;
    if (this.blocked(m.from, m.to)) return this.dropped(m, true);
    if (!this.healed && this.rand.chance(this.dropRate)) return this.dropped(m, false);
    const copies = !this.healed && this.rand.chance(this.dupRate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      let delay = this.rand.range(1, this.maxDelay);
      if (!this.healed && this.rand.chance(this.reorderRate)) delay += this.rand.range(0, 5 * TICK);
      this.q.push({ at: this.now + delay, kind: 'deliver', m });
    }
  }

  private dropped(m: Message, unreachable: boolean): void {
    this.stats.dropped++;
    // A transport learns that a snapshot failed, and sometimes that a peer is unreachable.
    if (m.type === 'MsgSnap') this.q.push({ at: this.now + 1, kind: 'snapStatus', id: m.from, to: m.to, ok: false });
    else if (unreachable && this.rand.chance(0.3)) this.q.push({ at: this.now + 1, kind: 'unreachable', id: m.from, to: m.to });
  }

  private deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n || !n.raw || this.blocked(m.from, m.to)) return this.dropped(m, true);
    this.trace(`deliver ${m.type} ${m.from}->${m.to} t${m.term} i${m.index} lt${m.logTerm} c${m.commit} n${m.entries.length}${m.reject ? ' reject' : ''}`);
    n.raw.step(m);
    if (m.type === 'MsgSnap') this.q.push({ at: this.now + 1, kind: 'snapStatus', id: m.from, to: m.to, ok: true });
    this.touched(n);
  }

  // ------------------------------------------------------------------ ready handling

  /** After anything happened on n: check invariants and take its next Ready. */
  private touched(n: SimNode): void {
    const raw = n.raw;
    if (!raw) return;
    const r = raw.raft;
    this.checker.termSeen(r.term);
    if (r.role === 'leader' && n.wasLeaderInTerm !== r.term) {
      n.wasLeaderInTerm = r.term;
      this.stats.leaders++;
      this.trace(`${n.id} became leader of term ${r.term}`);
      this.checker.leader(n.id, r.term);
      this.checker.leaderComplete(n.id, r);
    }
    this.checker.commitSeen(r.raftLog.committed);
    const limit = Math.max(1, this.asyncWrites);
    while (n.raw === raw && n.pending.length < limit && raw.hasReady()) {
      // As the member does: a snapshot is written alone, nothing overlaps its installation.
      if (n.pending.length > 0 && (n.pending.some((p) => p.snapshot) || raw.raft.raftLog.unstable.nextSnapshot())) break;
      const rd = raw.ready();
      n.pending.push(rd);
      // As the member does: replication goes out while the write is in flight (a crash loses the write).
      for (const m of rd.messages) if (sendableBeforePersist(m)) this.send(m);
      // Writes complete in order (one database connection), each after its own delay.
      n.writesDoneAt = Math.max(n.writesDoneAt, this.now + this.rand.range(0, this.persistMax));
      this.q.push({ at: n.writesDoneAt, kind: 'persist', id: n.id, inc: n.inc });
      if (this.asyncWrites > 0) {
        // Committed entries handed out with asynchronous writes are durable here already: apply now.
        this.checkReadStates(n, rd);
        const confApplied = this.applyCommitted(n, rd);
        raw.ackApplied(rd);
        this.maybeSnapshot(n, confApplied);
      }
    }
  }

  /** The application's side of a Ready: persist, send, apply, advance (with asynchronous writes: persist, send, ackPersisted). */
  private persist(n: SimNode): void {
    const raw = n.raw!;
    const rd = n.pending.shift()!;
    const st = n.storage;
    // 1. persist snapshot, entries and hard state (one atomic write)
    if (rd.snapshot) {
      st.applySnapshot(rd.snapshot);
      const s = rd.snapshot;
      const app = decodeApp(s.data, { index: s.metadata.index, hash: 0, confState: s.metadata.confState });
      if (app.index !== s.metadata.index) this.checker.fail(`snapshot data at ${app.index} but metadata at ${s.metadata.index}`);
      this.checker.snapshotState(n.id, app.index, app.hash);
      n.app = { index: app.index, hash: app.hash, confState: s.metadata.confState };
      this.trace(`${n.id} installed snapshot ${s.metadata.index}/${s.metadata.term}`);
    }
    if (rd.entries.length > 0) {
      st.append(rd.entries);
      for (const e of rd.entries) {
        let prevTerm: number | undefined;
        try {
          prevTerm = st.term(e.index - 1);
        } catch {
          prevTerm = undefined;
        }
        this.checker.appended(n.id, e, entryKey(e), prevTerm);
      }
    }
    if (rd.hardState) {
      this.checker.hardState(n.id, st.hardStateNow(), rd.hardState);
      st.setHardState(rd.hardState);
    }
    // 2. send
    for (const m of rd.messages) if (!sendableBeforePersist(m)) this.send(m);
    if (this.asyncWrites > 0) {
      raw.ackPersisted(rd);
      this.trace(`${n.id} persisted to ${rd.entries.at(-1)?.index ?? '-'} commit=${raw.raft.raftLog.committed} snap=${st.snapshot().metadata.index}`);
      this.touched(n);
      return;
    }
    // 3. apply
    const confApplied = this.applyCommitted(n, rd);
    this.checkReadStates(n, rd);
    raw.advance(rd);
    this.trace(`${n.id} advanced applied=${raw.raft.raftLog.applied} commit=${raw.raft.raftLog.committed} snap=${st.snapshot().metadata.index}`);
    this.maybeSnapshot(n, confApplied);
    this.touched(n);
  }

  /** Applies rd's committed entries to n's state machine; true if one was a conf change. */
  private applyCommitted(n: SimNode, rd: Ready): boolean {
    const raw = n.raw!;
    let confApplied = false;
    for (const e of rd.committedEntries) {
      if (e.index <= n.app.index) this.checker.fail(`${n.id} applied ${e.index} twice (app at ${n.app.index})`);
      if (e.index !== n.app.index + 1) this.checker.fail(`${n.id} skipped entries: applied ${e.index} after ${n.app.index}`);
      const key = entryKey(e);
      n.app.hash = chain(n.app.hash, e, key);
      n.app.index = e.index;
      this.checker.apply(n.id, e, key, n.app.hash);
      this.trace(`${n.id} apply ${e.index}/${e.term} ${key}`);
      if (e.type === 'confChange') {
        const cc = decodeConfChange(e.data);
        n.app.confState = raw.applyConfChange(cc);
        if (cc.type === 'removeNode') this.wasRemovedIds.add(cc.nodeId);
        confApplied = true;
        this.trace(`${n.id} applied ${cc.type} ${cc.nodeId} at ${e.index}: ${JSON.stringify(n.app.confState)}`);
      } else if (key !== '' && !this.ackedAt.has(key)) {
        this.ackedAt.set(key, e.index);
        this.stats.acked++;
      }
    }
    return confApplied;
  }

  private checkReadStates(n: SimNode, rd: Ready): void {
    for (const rs of rd.readStates) {
      const key = td.decode(rs.requestCtx);
      const need = this.reads.get(key);
      if (need !== undefined && rs.index < need) {
        this.checker.fail(`linearizable read: ${n.id} got read index ${rs.index} for ${key}, but ${need} was committed before the read`);
      }
      this.stats.reads++;
    }
  }

  /** Snapshots: after a conf change (so new members can be caught up), and every snapEvery entries. */
  private maybeSnapshot(n: SimNode, confApplied: boolean): void {
    const st = n.storage;
    const snapIdx = st.snapshot().metadata.index;
    if (n.app.index > snapIdx && n.app.index <= st.lastIndex() && (confApplied || n.app.index - snapIdx >= this.snapEvery)) {
      st.createSnapshot(n.app.index, n.app.confState, encodeApp(n.app));
      const keep = this.rand.range(0, 3);
      const compactTo = n.app.index - keep;
      if (compactTo > st.firstIndex() - 1) st.compact(compactTo);
    }
  }

  // ------------------------------------------------------------------ chaos

  private chaos(): void {
    const r = this.rand;
    const I = this.intensity;
    const ticksSoFar = this.now / TICK;
    if (ticksSoFar >= this.chaosTicks) return this.heal();
    this.q.push({ at: this.now + r.range(3, 2 * TICK), kind: 'chaos' });
    const up = this.up();
    if (r.chance(0.6 * I.propose) && up.length > 0) this.propose(r.pick(up));
    if (r.chance(0.1 * I.read) && up.length > 0) this.read(r.pick(up));
    if (r.chance(0.03 * I.partition)) this.repartition();
    if (r.chance(0.02 * I.crash) && up.length > 0) {
      const n = r.pick(up);
      this.crash(n);
      this.q.push({ at: this.now + r.range(1, 30 * TICK), kind: 'restart', id: n.id });
    }
    if (r.chance(0.03 * I.conf)) this.changeMembership();
    if (r.chance(0.02 * I.transfer) && up.length > 0) {
      const lead = this.leader();
      if (lead) {
        const target = r.pick([...lead.raw!.raft.trk.voters]);
        this.trace(`transfer to ${target} via ${lead.id}`);
        this.stats.transfers++;
        const via = r.pick(this.up());
        via.raw!.transferLeader(target);
        this.touched(via);
      }
    }
  }

  private propose(n: SimNode): void {
    const key = `p${this.proposalSeq++}`;
    this.stats.proposals++;
    try {
      n.raw!.propose(te.encode(key));
    } catch (e) {
      if (!(e instanceof RaftError && e.code === 'ErrProposalDropped')) throw e;
    }
    this.touched(n);
  }

  private read(n: SimNode): void {
    const key = `r${this.proposalSeq++}`;
    // Anything committed anywhere before the read starts must be visible to it.
    this.reads.set(key, this.checker.maxCommit);
    n.raw!.readIndex(te.encode(key));
    this.touched(n);
  }

  private repartition(): void {
    const r = this.rand;
    const ids = [...this.nodes.keys()];
    this.cut.clear();
    const kind = r.int(4);
    if (kind === 0) {
      this.trace('partition healed');
      return;
    }
    if (kind === 1) {
      // symmetric split into two groups
      r.shuffle(ids);
      const k = r.range(1, Math.max(1, Math.floor(ids.length / 2)));
      const a = ids.slice(0, k);
      const b = ids.slice(k);
      for (const x of a) for (const y of b) {
        this.cut.add(`${x}->${y}`);
        this.cut.add(`${y}->${x}`);
      }
      this.trace(`partition ${a} | ${b}`);
    } else if (kind === 2) {
      // one-way cuts between random pairs
      const n = r.range(1, ids.length);
      for (let i = 0; i < n; i++) {
        const x = r.pick(ids);
        const y = r.pick(ids);
        if (x !== y) this.cut.add(`${x}->${y}`);
      }
      this.trace(`one-way cuts ${[...this.cut]}`);
    } else {
      // isolate the leader (if any) in one direction or both
      const l = this.leader();
      if (!l) return;
      const both = r.chance(0.5);
      for (const y of ids) {
        if (y === l.id) continue;
        if (both || r.chance(0.5)) this.cut.add(`${y}->${l.id}`);
        if (both || r.chance(0.5)) this.cut.add(`${l.id}->${y}`);
      }
      this.trace(`leader ${l.id} cut ${[...this.cut]}`);
    }
  }

  private changeMembership(): void {
    const l = this.leader();
    if (!l) return;
    const r = this.rand;
    const trk = l.raw!.raft.trk;
    const voters = [...trk.voters];
    const learners = [...trk.learners];
    const options: ConfChange[] = [];
    const spareLeft = this.nextSpare <= this.opts.members + 3;
    if (spareLeft && voters.length < this.opts.members + 2) {
      const id = `n${this.nextSpare}`;
      options.push({ type: 'addLearner', nodeId: id }, { type: 'addNode', nodeId: id });
    }
    for (const id of learners) options.push({ type: 'addNode', nodeId: id }, { type: 'removeNode', nodeId: id });
    if (voters.length > 2) for (const id of voters) options.push({ type: 'removeNode', nodeId: id });
    if (voters.length > 2) options.push({ type: 'addLearner', nodeId: r.pick(voters) }); // demotion
    if (options.length === 0) return;
    const cc = r.pick(options);
    if (!this.nodes.has(cc.nodeId)) {
      // a new member starts with an empty log and no configuration
      this.nextSpare++;
      this.addNode(cc.nodeId, new MemoryStorage());
    }
    this.everMember.add(cc.nodeId);
    this.trace(`propose ${cc.type} ${cc.nodeId} at ${l.id}`);
    try {
      l.raw!.proposeConfChange(cc);
      this.stats.confChanges++;
    } catch (e) {
      if (!(e instanceof RaftError && e.code === 'ErrProposalDropped')) throw e;
    }
    this.touched(l);
  }

  private heal(): void {
    this.healed = true;
    this.cut.clear();
    this.trace('heal');
    // Members removed from the latest configuration are shut down, as a server would.
    const latest = this.latestConf();
    for (const n of this.nodes.values()) {
      const member = latest.has(n.id);
      if (!member && this.everMember.has(n.id) && this.wasRemoved(n.id)) {
        if (n.raw) this.crash(n);
        n.stopped = true;
      } else if (!n.raw) {
        this.start(n);
      }
    }
  }

  /** Members of the configuration applied at the highest index anywhere. */
  private latestConf(): Set<NodeId> {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) if (!best || n.app.index > best.app.index) best = n;
    const cs = best!.app.confState;
    return new Set([...cs.voters, ...cs.learners]);
  }

  /** Members whose removal was applied somewhere (shut down when the network heals). */
  private wasRemovedIds = new Set<NodeId>();
  private wasRemoved(id: NodeId): boolean {
    return this.wasRemovedIds.has(id);
  }

  // ------------------------------------------------------------------ run

  /** Checks convergence after healing: all members of the leader's configuration applied everything. */
  private converged(): boolean {
    const l = this.leader();
    if (!l) return false;
    const r = l.raw!.raft;
    if (this.finalKey === null || (this.now - this.finalProposedAt > 40 * TICK && !this.ackedAt.has(this.finalKey))) {
      this.finalKey = `final${this.proposalSeq++}`;
      this.finalProposedAt = this.now;
      try {
        l.raw!.propose(te.encode(this.finalKey));
      } catch {
        /* retried later */
      }
      this.touched(l);
      return false;
    }
    if (!this.ackedAt.has(this.finalKey)) return false;
    // Every acknowledged proposal (including ones still in flight at heal time) must be applied everywhere.
    let at = 0;
    for (const idx of this.ackedAt.values()) at = Math.max(at, idx);
    for (const id of r.trk.progress.keys()) {
      const n = this.nodes.get(id);
      if (!n || !n.raw) return false;
      if (n.app.index < at) return false;
    }
    return true;
  }

  private finalChecks(): void {
    const l = this.leader()!;
    const members = [...l.raw!.raft.trk.progress.keys()];
    let maxAcked = 0;
    for (const idx of this.ackedAt.values()) maxAcked = Math.max(maxAcked, idx);
    for (const id of members) {
      const n = this.nodes.get(id)!;
      if (n.app.index < maxAcked) this.checker.fail(`liveness: ${id} applied up to ${n.app.index}, acknowledged proposal at ${maxAcked}`);
      const a = this.checker.applied[n.app.index];
      if (!a || a.hash !== n.app.hash) this.checker.fail(`final state: ${id} state differs at ${n.app.index}`);
    }
  }

  run(): SimResult {
    const deadline = () => (this.chaosTicks + this.healTicks) * TICK;
    let nextConvergeCheck = 0;
    try {
      for (;;) {
        const ev = this.q.pop();
        if (!ev) throw new InvariantError('event queue ran dry');
        this.now = ev.at;
        this.stats.events++;
        switch (ev.kind) {
          case 'tick': {
            const n = this.nodes.get(ev.id)!;
            if (!n.raw || n.inc !== ev.inc) break;
            this.stats.ticks++;
            n.raw.tick();
            this.touched(n);
            this.q.push({ at: this.now + TICK, kind: 'tick', id: n.id, inc: n.inc });
            break;
          }
          case 'deliver':
            this.deliver(ev.m);
            break;
          case 'flush':
            this.flush(ev.link, ev.from, ev.inc);
            break;
          case 'persist': {
            const n = this.nodes.get(ev.id)!;
            if (!n.raw || n.inc !== ev.inc || n.pending.length === 0) break;
            this.persist(n);
            break;
          }
          case 'chaos':
            this.chaos();
            break;
          case 'restart': {
            const n = this.nodes.get(ev.id)!;
            if (n.raw || n.stopped) break;
            this.trace(`restart ${n.id}`);
            this.start(n);
            break;
          }
          case 'snapStatus': {
            const n = this.nodes.get(ev.id)!;
            if (!n.raw) break;
            n.raw.reportSnapshot(ev.to, ev.ok);
            this.touched(n);
            break;
          }
          case 'unreachable': {
            const n = this.nodes.get(ev.id)!;
            if (!n.raw) break;
            n.raw.reportUnreachable(ev.to);
            this.touched(n);
            break;
          }
        }
        if (this.healed && this.now >= nextConvergeCheck) {
          nextConvergeCheck = this.now + TICK;
          if (this.converged()) {
            this.finalChecks();
            return this.result(true);
          }
          if (this.now > deadline()) {
            const l = this.leader();
            const desc = [...this.nodes.values()]
              .map((n) => `${n.id}:${n.raw ? `${n.raw.raft.role}/t${n.raw.raft.term}/c${n.raw.raft.raftLog.committed}/a${n.app.index}` : n.stopped ? 'stopped' : 'down'}`)
              .join(' ');
            throw new InvariantError(`liveness: no convergence ${this.healTicks} ticks after healing (leader ${l?.id ?? 'none'}; ${desc})`);
          }
        }
      }
    } catch (e) {
      const msg = e instanceof InvariantError ? e.message : `crash: ${(e as Error).stack ?? String(e)}`;
      return this.result(false, msg);
    }
  }

  private result(ok: boolean, error?: string): SimResult {
    const res: SimResult = { seed: this.opts.seed, members: this.opts.members, ok, stats: this.stats, params: this.params() };
    if (error !== undefined) res.error = error;
    if (this.traceBuf) res.trace = this.traceBuf;
    return res;
  }
}

/** Runs one seed. Members: 3, 5 or 7 (default: chosen by the seed). */
export function runSeed(seed: number, members?: number, opts: Partial<SimOptions> = {}): SimResult {
  const m = members ?? [3, 5, 7][seed % 3];
  return new World({ seed, members: m, ...opts }).run();
}
