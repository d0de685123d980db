// Majority quorums as pure functions: the commit index is a function of the
// voters' match indexes, and an election result a function of the votes.
import type { NodeId } from './types.ts';

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The largest index acknowledged by a majority of `voters`. A voter without
 * an acknowledgement counts as 0. An empty voter set commits nothing.
 */
export function majorityCommitted(voters: ReadonlySet<NodeId>, acked: (id: NodeId) => number | undefined): number {
  const n = voters.size;
  if (n === 0) return 0;
  const idxs: number[] = [];
  for (const id of voters) idxs.push(acked(id) ?? 0);
  idxs.sort((a, b) => b - a);
  // idxs[q-1] is the highest index that q = n/2+1 voters have reached.
  return idxs[Math.floor(n / 2)];
}

/** Outcome of an election among `voters` given the votes received so far. */
export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const n = voters.size;
  if (n === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(n / 2) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}
