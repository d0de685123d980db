// The active configuration (voters and learners), one Progress per member,
// and the votes of the current election.
import { Inflights } from './inflights.ts';
import { Progress } from './progress.ts';
import { majorityCommitted, majorityVoteResult, type VoteResult } from './quorum.ts';
import type { ConfState, NodeId } from './types.ts';

export class ProgressTracker {
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  /** One entry per voter and learner, in a deterministic (insertion) order. */
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes = Infinity,
  ) {}

  newProgress(next: number, isLearner: boolean): Progress {
    const pr = new Progress(next, new Inflights(this.maxInflight, this.maxInflightBytes), isLearner);
    pr.recentActive = true;
    return pr;
  }

  confState(): ConfState {
    return { voters: [...this.voters].sort(), learners: [...this.learners].sort() };
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  /** The highest index replicated on a majority of voters. */
  committed(): number {
    return majorityCommitted(this.voters, (id) => this.progress.get(id)?.match);
  }

  /** True if a majority of voters were recently active (self counts as active). */
  quorumActive(self: NodeId): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const id of this.voters) {
      const pr = this.progress.get(id);
      votes.set(id, id === self || (pr !== undefined && pr.recentActive));
    }
    return majorityVoteResult(this.voters, votes) === 'won';
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteResult {
    return majorityVoteResult(this.voters, this.votes);
  }
}
