/**
 * How a member with an empty database finds its place (--join): the decision alone, from what
 * the cluster's members answered, so it is tested without sockets (join.ts does the asking).
 */

/** A member as /v3/cluster/member/list answers it. */
export interface ListedMember {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

export interface JoinView {
  selfName: string;
  selfPeerUrls: string[];
  /** What each address asked answered: a member list, or why not. */
  answers: { url: string; members?: ListedMember[]; error?: string }[];
  /** Whether the join addresses name any machine but this one (a DNS name with other addresses, other hosts). */
  othersExist: boolean;
}

export type JoinPlan =
  /** Nobody else exists: this is the first member; it starts a new cluster. */
  | { kind: 'bootstrap' }
  /** Start with --initial-cluster-state existing and this --initial-cluster, after adding this member as a learner through `via` if `add`. */
  | { kind: 'join'; via: string; add: boolean; initialCluster: string }
  /** Others exist but none answered: never start a second cluster; try again later. */
  | { kind: 'retry'; reason: string };

const sameUrls = (a: string[], b: string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

export function planJoin(v: JoinView): JoinPlan {
  const answered = v.answers.find((a) => a.members && a.members.length > 0);
  if (!answered) {
    if (!v.othersExist) return { kind: 'bootstrap' };
    return { kind: 'retry', reason: `no member answered: ${v.answers.map((a) => `${a.url}: ${a.error ?? 'no members'}`).join('; ') || 'nothing to ask'}` };
  }
  const members = answered.members!;
  const me = members.find((m) => sameUrls(m.peerURLs ?? [], v.selfPeerUrls));
  const others = members.filter((m) => m !== me);
  // A member added but not started yet has no name: its id stands in (names only tell members apart here).
  const entries = others.flatMap((m) => (m.peerURLs ?? []).map((u) => `${m.name || m.ID}=${u}`));
  entries.push(...v.selfPeerUrls.map((u) => `${v.selfName}=${u}`));
  return { kind: 'join', via: answered.url, add: !me, initialCluster: entries.join(',') };
}
