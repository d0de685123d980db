import type { Message } from '../raft/index.ts';

/**
 * The messages waiting to go to one peer, with the ones a later message makes worthless left out
 * and appends that follow one another joined.
 *
 * A leader sends an append per proposal and another each time its commit index moves, and raft
 * answers every append, so under load most messages repeat what a later one in the same batch says:
 * a follower's accepting answers (each names the last index it holds; the highest says it all) and a
 * leader's appends without entries (each only carries the commit index, which a later append carries
 * too). Leaving one out is what losing it on the network would be, which raft is built to survive;
 * only messages of the same term stand in for each other. An append whose entries start right after
 * the waiting append's last entry is joined to it: the follower gets what the leader would have sent
 * had both proposals come at once. Proposals a follower forwards are joined the same way (as one
 * client's batch would be), unless one carries a membership change: the leader refuses a proposal
 * whole, and a change must not take ordinary writes down with it.
 */
export class Outbox {
  private items: (Message | undefined)[] = [];
  private count = 0;
  /** Where the waiting accepting append answer is. */
  private appResp = -1;
  /** Where the last waiting append is. */
  private lastApp = -1;
  /** Where the last waiting proposal is, when later proposals may join it. */
  private lastProp = -1;
  /** Messages made by joining (their entries array is this outbox's own, so it may grow), with their entries' bytes. */
  private readonly joined = new WeakMap<Message, number>();

  /** Messages pushed since the last take (some may have been left out or joined). */
  pushed = 0;

  get size(): number {
    return this.count;
  }

  push(m: Message): void {
    this.pushed++;
    if (m.type === 'MsgAppResp' && !m.reject) {
      const prev = this.at(this.appResp, m.term);
      if (prev) {
        if (prev.index > m.index) return;
        this.drop(this.appResp);
      }
      this.appResp = this.add(m);
      return;
    }
    if (m.type === 'MsgApp') {
      const prev = this.at(this.lastApp, m.term);
      if (prev && continues(prev, m) && this.bytes(prev) + bytes(m) <= MAX_JOINED_BYTES) {
        this.items[this.lastApp] = this.join(prev, m);
        return;
      }
      if (prev && prev.entries.length === 0) this.drop(this.lastApp);
      this.lastApp = this.add(m);
      return;
    }
    if (m.type === 'MsgProp') {
      const joinable = m.entries.every((e) => e.type === 'normal');
      const prev = joinable && this.lastProp >= 0 ? this.items[this.lastProp] : undefined;
      if (prev && this.bytes(prev) + bytes(m) <= MAX_JOINED_BYTES) {
        this.items[this.lastProp] = this.join(prev, m);
        return;
      }
      const at = this.add(m);
      this.lastProp = joinable ? at : -1;
      return;
    }
    this.add(m);
  }

  /** The messages in the order they were pushed; the outbox is empty afterwards. */
  take(): Message[] {
    const out: Message[] = [];
    for (const m of this.items) if (m) out.push(m);
    this.items = [];
    this.count = 0;
    this.pushed = 0;
    this.appResp = -1;
    this.lastApp = -1;
    this.lastProp = -1;
    return out;
  }

  private at(i: number, term: number): Message | undefined {
    const m = i >= 0 ? this.items[i] : undefined;
    return m && m.term === term ? m : undefined;
  }

  private join(prev: Message, m: Message): Message {
    const size = this.bytes(prev) + bytes(m);
    const out = this.joined.has(prev) ? prev : { ...prev, entries: prev.entries.slice() };
    for (const e of m.entries) out.entries.push(e);
    out.commit = Math.max(prev.commit, m.commit);
    this.joined.set(out, size);
    return out;
  }

  /** A message's entries' bytes, kept for joined ones (they are asked again at every join). */
  private bytes(m: Message): number {
    return this.joined.get(m) ?? bytes(m);
  }

  private add(m: Message): number {
    this.count++;
    return this.items.push(m) - 1;
  }

  private drop(i: number): void {
    this.items[i] = undefined;
    this.count--;
  }
}

/** Joined appends stop growing past this (raft's own messages stay under its size limit). */
const MAX_JOINED_BYTES = 1 << 20;

/** Whether m's entries start right after prev's last entry, at the term prev's last entry has. */
function continues(prev: Message, m: Message): boolean {
  const n = prev.entries.length;
  const lastIndex = prev.index + n;
  const lastTerm = n ? prev.entries[n - 1].term : prev.logTerm;
  return m.index === lastIndex && m.logTerm === lastTerm;
}

function bytes(m: Message): number {
  let n = 0;
  for (const e of m.entries) n += e.data.length;
  return n;
}
