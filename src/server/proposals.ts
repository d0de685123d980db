import { Errors } from '../errors.ts';
import { RaftError, type ConfChange } from '../raft/index.ts';
import type { MemberRow } from '../storage/rows.ts';
import type { Clock } from './clock.ts';
import { encodeRaftRequest, type RaftRequest } from './raft-request.ts';
import { Wait } from './wait.ts';

/** An answer plus the history reads it still waits on. */
export interface Answer<T> {
  resp: T;
  done?: Promise<void>;
}

export interface ProposalsOptions {
  clock: Clock;
  /** Unique to this run of this member: request ids never repeat across restarts. */
  idPrefix: string;
  propose(data: Uint8Array): void;
  proposeConfChange(cc: ConfChange): void;
  /** Wakes the Ready loop. */
  kick(): void;
  leaderKnown(): boolean;
  /** Whether this member takes no more proposals (failed, closed or removed). */
  stopped(): boolean;
  timeoutMs: number;
  /** How long to wait before proposing again when raft dropped the proposal (no leader yet). */
  retryMs: number;
  /** Told of each proposal that failed: timed out, dropped or refused (not one its entry answered). */
  failed?: () => void;
  /** Checks a write before it is proposed (the quota); may refuse it by throwing. */
  admit?: (req: Omit<RaftRequest, 'id'>) => void | Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Proposals and their waiters: a write gets an id, goes into the log, and its caller is answered
 * when the entry with that id applies on this member (or times out).
 */
export class Proposals {
  private readonly wait: Wait<Answer<unknown>>;
  private seq = 0;

  constructor(private readonly o: ProposalsOptions) {
    this.wait = new Wait(o.clock);
  }

  /** Proposes a write and resolves once it is committed and applied here. */
  propose<T>(req: Omit<RaftRequest, 'id'>): Promise<Answer<T>> {
    let admitted: void | Promise<void>;
    try {
      admitted = this.o.admit?.(req);
    } catch (err) {
      return Promise.reject(err);
    }
    return admitted ? admitted.then(() => this.proposeNow<T>(req)) : this.proposeNow<T>(req);
  }

  private proposeNow<T>(req: Omit<RaftRequest, 'id'>): Promise<Answer<T>> {
    const id = this.nextId();
    return this.submit<T>(id, () => this.o.propose(encodeRaftRequest({ id, ...req })));
  }

  /** Proposes a membership change; resolves with the member list once it is applied. */
  proposeConfChange(cc: ConfChange): Promise<Answer<MemberRow[]>> {
    const id = this.nextId();
    const ctx = JSON.parse(cc.context?.length ? decoder.decode(cc.context) : '{}');
    const withId: ConfChange = { ...cc, context: encoder.encode(JSON.stringify({ ...ctx, requestId: id })) };
    return this.submit<MemberRow[]>(id, () => this.o.proposeConfChange(withId));
  }

  /** The entry with this id applied: answers its caller, if it is this member's. */
  applied(id: string, answer: Answer<unknown>): void {
    this.wait.trigger(id, answer);
  }

  /** The entry with this id applied with an error. */
  failed(id: string, err: unknown): void {
    this.wait.fail(id, err);
  }

  failAll(err: () => unknown): void {
    this.wait.failAll(err);
  }

  get pending(): number {
    return this.wait.size;
  }

  private nextId(): string {
    return `${this.o.idPrefix}-${(this.seq++).toString(36)}`;
  }

  private submit<T>(id: string, submit: () => void): Promise<Answer<T>> {
    if (this.o.stopped()) return Promise.reject(Errors.stopped());
    const { clock } = this.o;
    const deadline = clock.now() + this.o.timeoutMs;
    const answer = this.wait.register(id, this.o.timeoutMs, () => {
      this.o.failed?.();
      return this.o.leaderKnown() ? Errors.requestTimeout() : Errors.noLeader();
    });
    // Without a known leader raft drops the proposal: try again until the deadline.
    const attempt = () => {
      if (!this.wait.has(id)) return;
      try {
        submit();
        this.o.kick();
      } catch (err) {
        if (err instanceof RaftError && err.code === 'ErrProposalDropped' && clock.now() + this.o.retryMs < deadline) {
          clock.setTimeout(attempt, this.o.retryMs);
          return;
        }
        this.o.failed?.();
        this.wait.fail(id, err instanceof RaftError ? Errors.noLeader() : err);
      }
    };
    attempt();
    return answer as Promise<Answer<T>>;
  }
}

