/**
 * Since when each peer has been reachable: etcd's rafthttp peerStatus. A peer becomes active when
 * an exchange with it succeeds, and inactive (its time reset to zero) when one fails; only the
 * change is reported, so a dead peer failing every retry does not log each time. The membership
 * checks read activeSince (etcd's Transport.ActiveSince) to refuse changes that would leave too
 * few connected voters.
 */
export class PeerStatus {
  private readonly since = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    /** The peer became active, or inactive (with why). */
    private readonly changed?: (id: string, active: boolean, reason?: string) => void,
  ) {}

  activate(id: string): void {
    if (this.since.has(id)) return;
    this.since.set(id, this.now());
    this.changed?.(id, true);
  }

  deactivate(id: string, reason: string): void {
    if (!this.since.delete(id)) return;
    this.changed?.(id, false, reason);
  }

  /** When the peer became active (ms), 0 when it is not active. */
  activeSince(id: string): number {
    return this.since.get(id) ?? 0;
  }

  isActive(id: string): boolean {
    return this.since.has(id);
  }
}
