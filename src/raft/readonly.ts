// ReadIndex requests waiting for a heartbeat round to confirm that the leader
// is still the leader (linearizable reads without writing to the log).
// Requests are queued in arrival order; a quorum of acks for one request's
// heartbeat context confirms it and every request queued before it.
import { majorityVoteResult } from './quorum.ts';
import type { Message, NodeId } from './types.ts';

export interface ReadIndexStatus {
  req: Message;
  /** The leader's commit index when the request arrived. */
  index: number;
  acks: Set<NodeId>;
}

export function ctxKey(ctx: Uint8Array | undefined): string {
  if (ctx === undefined || ctx.length === 0) return '';
  let s = '';
  for (let i = 0; i < ctx.length; i += 4096) {
    s += String.fromCharCode.apply(null, Array.from(ctx.subarray(i, i + 4096)));
  }
  return s;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Queues a request received while the commit index was `index`. Duplicate contexts are ignored. */
  addRequest(index: number, m: Message): void {
    const key = ctxKey(m.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `id` acknowledged the heartbeat carrying ctx. */
  recvAck(id: NodeId, ctx: Uint8Array | undefined): void {
    const rs = this.pending.get(ctxKey(ctx));
    if (rs !== undefined) rs.acks.add(id);
  }

  /**
   * If the request for ctx has a quorum of acks among voters, removes and
   * returns it and every request queued before it; otherwise returns [].
   */
  maybeAdvance(ctx: Uint8Array | undefined, voters: ReadonlySet<NodeId>): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const rs = this.pending.get(key);
    if (rs === undefined) return [];
    const votes = new Map<NodeId, boolean>();
    for (const id of rs.acks) votes.set(id, true);
    if (majorityVoteResult(voters, votes) !== 'won') return [];
    const i = this.queue.indexOf(key);
    const done = this.queue.slice(0, i + 1);
    this.queue = this.queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const s = this.pending.get(k);
      if (s !== undefined) out.push(s);
      this.pending.delete(k);
    }
    return out;
  }

  /** Context of the newest pending request (heartbeats carry it). */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])?.req.context;
  }

  get size(): number {
    return this.queue.length;
  }
}
