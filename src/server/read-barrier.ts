import { Errors } from '../errors.ts';
import type { ReadState } from '../raft/index.ts';
import type { Clock } from './clock.ts';

export interface ReadBarrierOptions {
  clock: Clock;
  /** Unique to this run of this member. */
  idPrefix: string;
  /** Asks raft for a ReadIndex (and wakes the Ready loop). */
  readIndex(ctx: Uint8Array): void;
  /** Runs fn after the current event-loop turn: reads arriving together share one round. */
  defer(fn: () => void): void;
  leaderKnown(): boolean;
  timeoutMs: number;
}

type Waiter = { resolve: () => void; reject: (e: unknown) => void };
type Round = { ctx: Uint8Array; index: number; waiters: Waiter[] };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Linearizable reads: a ReadIndex round confirms leadership and the commit index, then the reads
 * of that round wait until this member has applied up to it.
 */
export class ReadBarrier {
  private readonly rounds = new Map<string, Round>();
  /** The round reads join, until it is asked. */
  private open: Round | undefined;
  private seq = 0;
  private appliedWaiters: { index: number; resolve: () => void }[] = [];

  constructor(private readonly o: ReadBarrierOptions) {}

  /** Resolves once this member may see every write acknowledged anywhere before it was called. */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      // A read joins only a round not asked yet: one asked before the read came may miss writes
      // acknowledged in between (a stale read). Reads arriving together share the next round.
      let round = this.open;
      if (!round) {
        const ctx = encoder.encode(`${this.o.idPrefix}/r${this.seq++}`);
        const fresh: Round = { ctx, index: 0, waiters: [] };
        round = this.open = fresh;
        this.rounds.set(decoder.decode(ctx), fresh);
        this.o.defer(() => {
          if (this.open === fresh) this.open = undefined;
          this.o.readIndex(ctx);
        });
      }
      const r = round;
      const timer = this.o.clock.setTimeout(() => {
        const i = r.waiters.indexOf(w);
        if (i >= 0) r.waiters.splice(i, 1);
        reject(this.o.leaderKnown() ? Errors.requestTimeout() : Errors.noLeader());
      }, this.o.timeoutMs);
      const w: Waiter = {
        resolve: () => {
          this.o.clock.clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          this.o.clock.clearTimeout(timer);
          reject(e);
        },
      };
      r.waiters.push(w);
    });
  }

  /** Resolves once this member has applied up to index (a simple token's authenticate entry). */
  waitApplied(index: number, applied: () => number): Promise<void> {
    if (applied() >= index) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ index, resolve }));
  }

  /** Raft answered ReadIndex requests: each round learns the index its reads wait for. */
  answered(states: ReadState[]): void {
    for (const rs of states) {
      const r = this.rounds.get(decoder.decode(rs.requestCtx));
      if (r) r.index = rs.index;
      if (r === this.open) this.open = undefined;
    }
  }

  /** Releases the reads this applied index satisfies. */
  release(applied: number): void {
    for (const [key, r] of this.rounds) {
      if (r.index === 0 || r.index > applied) continue;
      this.rounds.delete(key);
      for (const w of r.waiters) w.resolve();
    }
    if (this.appliedWaiters.length) {
      const ready = this.appliedWaiters.filter((w) => w.index <= applied);
      this.appliedWaiters = this.appliedWaiters.filter((w) => w.index > applied);
      for (const w of ready) w.resolve();
    }
  }

  /** Raft drops a ReadIndex request when no leader is known: ask again for rounds still unanswered. */
  retry(): void {
    for (const r of this.rounds.values()) if (r.index === 0 && r !== this.open) this.o.readIndex(r.ctx);
  }

  failAll(err: () => unknown): void {
    for (const r of this.rounds.values()) for (const w of r.waiters) w.reject(err());
    this.rounds.clear();
    this.open = undefined;
  }
}
