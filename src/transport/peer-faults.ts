import { readFileSync, statSync } from 'node:fs';

/**
 * Fault injection for peer traffic, for tests only: off (and free) unless a member is started
 * with --experimental-peer-faults <file> (or EDGECD_PEER_FAULTS). The file holds JSON rules for
 * this member's outgoing peer requests, and is re-read whenever it changes, so a test harness can
 * cut links, lose messages and slow them down while the cluster runs:
 *
 *   {"rules": [{"to": "http://127.0.0.1:12380", "drop": 1}, {"to": "*", "drop": 0.1, "delayMs": 50, "jitterMs": 50}]}
 *
 * `to` is a peer URL's origin (or "*"); the first matching rule applies. `drop` is the chance a
 * request is lost: a batch of raft messages vanishes on the wire (the sender believes it was
 * delivered), any other request (snapshot, lease forwarding, member list) fails as if the peer
 * refused the connection. `delayMs` (+ up to `jitterMs`) holds a request before it is sent.
 * A partition is a rule with drop 1 in the files of the members on both sides.
 */
export interface PeerFaultRule {
  to?: string;
  drop?: number;
  delayMs?: number;
  jitterMs?: number;
}

export interface PeerFault {
  drop: boolean;
  delayMs: number;
}

const RECHECK_MS = 50;

export class PeerFaults {
  private rules: PeerFaultRule[] = [];
  private mtimeMs = -1;
  private checkedAt = 0;

  constructor(
    readonly file: string,
    private readonly random: () => number = Math.random,
  ) {
    this.reload();
  }

  private reload(): void {
    this.checkedAt = Date.now();
    let mtime: number;
    try {
      mtime = statSync(this.file).mtimeMs;
    } catch {
      this.rules = [];
      this.mtimeMs = -1;
      return;
    }
    if (mtime === this.mtimeMs) return;
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { rules?: PeerFaultRule[] };
      this.rules = Array.isArray(parsed.rules) ? parsed.rules : [];
      this.mtimeMs = mtime;
    } catch {
      // Caught half-written: keep the old rules and read it again next time.
    }
  }

  /** What happens to a request to `url`: undefined when no rule matches. */
  decide(url: string): PeerFault | undefined {
    if (Date.now() - this.checkedAt >= RECHECK_MS) this.reload();
    if (this.rules.length === 0) return undefined;
    const origin = new URL(url).origin;
    const rule = this.rules.find((r) => r.to === undefined || r.to === '*' || r.to === origin);
    if (!rule) return undefined;
    const drop = (rule.drop ?? 0) > 0 && this.random() < (rule.drop ?? 0);
    const delayMs = Math.max(0, (rule.delayMs ?? 0) + (rule.jitterMs ? this.random() * rule.jitterMs : 0));
    return drop || delayMs > 0 ? { drop, delayMs } : undefined;
  }
}
