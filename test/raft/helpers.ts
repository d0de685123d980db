// Test helpers: build members on MemoryStorage, and a synchronous in-memory
// network that delivers every message until the cluster is quiet.
import {
  bootstrapMemoryStorage,
  decodeConfChange,
  MemoryStorage,
  mulberry32,
  RawNode,
  Raft,
  type Config,
  type Entry,
  type Message,
  type MessageType,
  type NodeId,
  type ReadState,
} from '../../src/raft/index.ts';

export const te = new TextEncoder();
export const td = new TextDecoder();
export const bytes = (s: string): Uint8Array => te.encode(s);
export const str = (b: Uint8Array): string => td.decode(b);

export function config(id: NodeId, storage: MemoryStorage, over: Partial<Config> = {}): Config {
  return {
    id,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 256,
    checkQuorum: false,
    preVote: false,
    random: mulberry32(id.split('').reduce((a, c) => a * 31 + c.charCodeAt(0), 7) >>> 0),
    ...over,
  };
}

/** A storage holding a bootstrap snapshot with the given voters (and learners). */
export function bootStorage(voters: NodeId[], learners: NodeId[] = []): MemoryStorage {
  const s = new MemoryStorage();
  bootstrapMemoryStorage(s, voters, learners);
  return s;
}

/** A Raft state machine (not a RawNode) for paper-style tests. */
export function newRaft(id: NodeId, voters: NodeId[], over: Partial<Config> = {}, learners: NodeId[] = []): Raft {
  return new Raft(config(id, over.storage instanceof MemoryStorage ? over.storage : bootStorage(voters, learners), over));
}

/** Takes and clears the messages a Raft wants to send. */
export function readMessages(r: Raft): Message[] {
  const ms = r.msgs;
  r.msgs = [];
  return ms;
}

/** Persists r's unstable entries to its MemoryStorage, as the application would. */
export function persist(r: Raft): void {
  const st = r.raftLog.storage as MemoryStorage;
  const snap = r.raftLog.unstable.snapshot;
  if (snap) {
    st.applySnapshot(snap);
    r.raftLog.stableSnapTo(snap.metadata.index);
  }
  const ents = r.raftLog.unstableEntries();
  if (ents.length > 0) {
    st.append(ents);
    r.stableTo(ents[ents.length - 1].index, ents[ents.length - 1].term);
  }
  st.setHardState(r.hardState());
}

export function entry(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: bytes(data) };
}

export function ids(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => `n${i + 1}`);
}

export interface Member {
  node: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
}

/**
 * A cluster of RawNodes connected by a synchronous network. deliver() runs
 * ready/advance loops and delivers messages until nothing is left in flight.
 */
export class Cluster {
  members = new Map<NodeId, Member>();
  /** Links that drop everything: "a->b". */
  cut = new Set<string>();
  /** Message types that are dropped everywhere. */
  ignored = new Set<MessageType>();
  /** Every message sent, for inspection. */
  log: Message[] = [];

  constructor(voters: NodeId[], over: Partial<Config> = {}, learners: NodeId[] = []) {
    for (const id of [...voters, ...learners]) this.add(id, bootStorage(voters, learners), over);
  }

  add(id: NodeId, storage: MemoryStorage, over: Partial<Config> = {}): Member {
    const m: Member = { node: new RawNode(config(id, storage, over)), storage, applied: [], readStates: [] };
    this.members.set(id, m);
    return m;
  }

  node(id: NodeId): RawNode {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m.node;
  }

  raft(id: NodeId): Raft {
    return this.node(id).raft;
  }

  isolate(id: NodeId): void {
    for (const other of this.members.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) for (const y of b) {
      this.cut.add(`${x}->${y}`);
      this.cut.add(`${y}->${x}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Handles one Ready of every member; returns the messages they sent. */
  private flushReadies(): Message[] {
    const out: Message[] = [];
    for (const [, m] of this.members) {
      while (m.node.hasReady()) {
        const rd = m.node.ready();
        if (rd.snapshot) m.storage.applySnapshot(rd.snapshot);
        m.storage.append(rd.entries);
        if (rd.hardState) m.storage.setHardState(rd.hardState);
        out.push(...rd.messages);
        for (const e of rd.committedEntries) {
          m.applied.push(e);
          if (e.type === 'confChange') {
            const cs = m.node.applyConfChange(decodeConfChange(e.data));
            // Snapshot after every conf change, so that new members can be sent one that includes them.
            if (e.index > m.storage.snapshot().metadata.index) m.storage.createSnapshot(e.index, cs, new Uint8Array(0));
          }
        }
        m.readStates.push(...rd.readStates);
        m.node.advance(rd);
      }
    }
    return out;
  }

  /** Delivers messages (and everything they cause) until the network is quiet. */
  deliver(max = 100000): void {
    let queue = this.flushReadies();
    for (let n = 0; queue.length > 0; n++) {
      if (n > max) throw new Error('network did not quiesce');
      const next: Message[] = [];
      for (const msg of queue) {
        this.log.push(msg);
        if (this.ignored.has(msg.type) || this.cut.has(`${msg.from}->${msg.to}`)) continue;
        const to = this.members.get(msg.to);
        if (!to) continue;
        to.node.step(msg);
        next.push(...this.flushReadies());
      }
      queue = next;
    }
  }

  /** Ticks every member once and delivers. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [, m] of this.members) m.node.tick();
      this.deliver();
    }
  }

  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.deliver();
  }

  propose(id: NodeId, data: string): void {
    this.node(id).propose(bytes(data));
    this.deliver();
  }

  leader(): NodeId | undefined {
    let best: NodeId | undefined;
    let term = -1;
    for (const [id, m] of this.members) {
      if (m.node.raft.role === 'leader' && m.node.raft.term > term) {
        best = id;
        term = m.node.raft.term;
      }
    }
    return best;
  }

  appliedData(id: NodeId): string[] {
    return this.members
      .get(id)!
      .applied.filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => str(e.data));
  }
}

/** A storage with the bootstrap entry (index 1, term 1) followed by entries of the given terms at 2, 3, ... */
export function storageWithTerms(voters: NodeId[], terms: number[], hardTerm = 0): MemoryStorage {
  const s = bootStorage(voters);
  s.append(terms.map((t, i) => entry(i + 2, t, `e${i + 2}`)));
  s.setHardState({ term: Math.max(hardTerm, ...terms, 1), vote: '', commit: 1 });
  return s;
}

/** Terms of every entry in a storage, from its first index. */
export function storedTerms(s: MemoryStorage): number[] {
  const out: number[] = [];
  for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push(s.term(i));
  return out;
}
