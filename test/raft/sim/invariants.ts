// Safety invariants checked while the simulation runs. Each check is
// incremental (done when the relevant event happens), so checking after
// every step stays cheap.
import type { Entry, HardState, NodeId, Raft } from '../../../src/raft/index.ts';

export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

interface Applied {
  term: number;
  key: string;
  hash: number;
  /** The highest term any member had when it was first applied: it was committed in a term <= this. */
  highestTerm: number;
}

export class Checker {
  /** Election safety: at most one leader per term. */
  private leaderOfTerm = new Map<number, NodeId>();
  /** Log matching: (index, term) -> content and the term of the entry before it. */
  private logEntries = new Map<string, { key: string; prevTerm: number | undefined }>();
  /** State-machine safety: what was applied at each index (the first member to apply it sets it). */
  readonly applied: (Applied | undefined)[] = [];
  maxApplied = 0;
  /** Highest commit index any member has known. */
  maxCommit = 0;
  /** Highest term any member has had. */
  private highestTerm = 0;

  constructor(bootIndex: number, bootTerm: number) {
    this.applied[bootIndex] = { term: bootTerm, key: '<boot>', hash: 0, highestTerm: bootTerm };
    this.maxApplied = bootIndex;
    this.maxCommit = bootIndex;
  }

  fail(msg: string): never {
    throw new InvariantError(msg);
  }

  /** Called whenever a member is seen as leader. */
  leader(id: NodeId, term: number): void {
    const other = this.leaderOfTerm.get(term);
    if (other === undefined) this.leaderOfTerm.set(term, id);
    else if (other !== id) this.fail(`election safety: ${other} and ${id} are both leaders of term ${term}`);
  }

  /** Called whenever a member's term may have changed. */
  termSeen(term: number): void {
    if (term > this.highestTerm) this.highestTerm = term;
  }

  /**
   * Leader completeness (Raft §5.4): a leader of term L holds every entry committed in a term
   * below L. An entry applied while no member had reached L was committed below L; one applied
   * later may have been committed in L or after (by another leader, while a stale one of a lower
   * term still stands), so it is not required.
   */
  leaderComplete(id: NodeId, r: Raft): void {
    const log = r.raftLog;
    const first = log.firstIndex();
    for (let i = Math.max(first, 1); i <= this.maxApplied; i++) {
      const a = this.applied[i];
      if (a === undefined || a.highestTerm >= r.term) continue;
      const t = log.term(i);
      if (t !== a.term) {
        this.fail(`leader completeness: leader ${id} (term ${r.term}) has term ${t} at ${i}, but entry of term ${a.term} was committed there`);
      }
    }
    if (first - 1 > this.maxApplied + 0 && this.applied[first - 1] === undefined) {
      // a snapshot beyond anything applied: impossible (snapshots are of applied state)
      this.fail(`leader completeness: leader ${id} holds a snapshot at ${first - 1} never applied anywhere`);
    }
  }

  /** Log matching: called for each entry a member persists, with the term of its predecessor. */
  appended(id: NodeId, e: Entry, key: string, prevTerm: number | undefined): void {
    const k = `${e.index}/${e.term}`;
    const seen = this.logEntries.get(k);
    if (seen === undefined) {
      this.logEntries.set(k, { key, prevTerm });
      return;
    }
    if (seen.key !== key) this.fail(`log matching: ${id} has entry ${k} = ${JSON.stringify(key)}, another member has ${JSON.stringify(seen.key)}`);
    if (prevTerm !== undefined && seen.prevTerm !== undefined && prevTerm !== seen.prevTerm) {
      this.fail(`log matching: ${id} has entry ${k} after term ${prevTerm}, another member after term ${seen.prevTerm}`);
    }
    if (seen.prevTerm === undefined) seen.prevTerm = prevTerm;
  }

  /** State-machine safety: no two members apply different entries at an index. */
  apply(id: NodeId, e: Entry, key: string, hashAfter: number): void {
    const a = this.applied[e.index];
    if (a === undefined) {
      this.applied[e.index] = { term: e.term, key, hash: hashAfter, highestTerm: this.highestTerm };
      if (e.index > this.maxApplied) this.maxApplied = e.index;
      if (e.index > this.maxCommit) this.maxCommit = e.index;
      return;
    }
    if (a.term !== e.term || a.key !== key || a.hash !== hashAfter) {
      this.fail(
        `state machine safety: ${id} applied ${JSON.stringify(key)} (term ${e.term}) at ${e.index}, another member applied ${JSON.stringify(a.key)} (term ${a.term})`,
      );
    }
  }

  /** A member's state restored from a snapshot must equal what others applied at that index. */
  snapshotState(id: NodeId, index: number, hash: number): void {
    const a = this.applied[index];
    if (a === undefined) this.fail(`snapshot: ${id} installed a snapshot at ${index}, which no member applied`);
    if (a.hash !== hash) this.fail(`snapshot: ${id} installed state ${hash} at ${index}, others applied state ${a.hash}`);
  }

  /** Durable hard state: the term never goes back, and a vote is never changed within a term. */
  hardState(id: NodeId, prev: HardState, next: HardState): void {
    if (next.term < prev.term) this.fail(`hard state: ${id} term went back from ${prev.term} to ${next.term}`);
    if (next.term === prev.term && prev.vote !== '' && next.vote !== prev.vote) {
      this.fail(`hard state: ${id} changed its vote in term ${next.term} from ${prev.vote} to ${next.vote}`);
    }
    if (next.commit < prev.commit) this.fail(`hard state: ${id} commit went back from ${prev.commit} to ${next.commit}`);
  }

  commitSeen(c: number): void {
    if (c > this.maxCommit) this.maxCommit = c;
  }
}
