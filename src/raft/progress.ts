// What the leader knows about one follower's log, and how it replicates to it.
//
//   probe:     the leader does not know where the follower's log ends; it
//              sends at most one MsgApp per heartbeat interval and waits.
//   replicate: the follower is keeping up; the leader streams entries
//              optimistically, bounded by the in-flight window.
//   snapshot:  the follower needs a snapshot; nothing else is sent until
//              the snapshot is reported applied (or failed).
import { Inflights } from './inflights.ts';
import type { ProgressStateType, ProgressStatus } from './types.ts';

export class Progress {
  /** Highest index known to be in the follower's log. */
  match = 0;
  /** Next index to send. Invariant: match < next. */
  next: number;
  state: ProgressStateType = 'probe';
  /** Index of the snapshot being sent, while state is 'snapshot'. */
  pendingSnapshot = 0;
  /** Heard from recently (reset at every CheckQuorum round). */
  recentActive = false;
  /** In probe state: a MsgApp was sent and we wait for its answer or a heartbeat response. */
  msgAppFlowPaused = false;
  inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressStateType): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      // Resume after the snapshot, if it was applied; otherwise after match.
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records that `lastIndex` and `bytes` were just sent in a MsgApp with entries. */
  sentEntries(lastIndex: number, bytes: number): void {
    if (this.state === 'replicate') {
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex, bytes);
    } else if (this.state === 'probe') {
      this.msgAppFlowPaused = true;
    }
  }

  /** A successful MsgAppResp for index n. Returns true if match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejected MsgApp whose previous index was `rejected`; the follower hints
   * that its log can match at most up to `matchHint`. Returns false for stale
   * rejections.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // Rejections of indexes already matched are stale (reordered messages).
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe and snapshot state only the answer to the last probe counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** True when the leader should not send more MsgApp to this follower now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.msgAppFlowPaused;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
      pendingSnapshot: this.pendingSnapshot,
    };
  }
}
