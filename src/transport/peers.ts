import type { Message } from '../raft/index.ts';
import { toWire, type WireMessage } from './codec.ts';
import type { PeerHttp } from './peer-http.ts';

/**
 * Sends raft messages to peers over HTTP. One queue per peer, one request in flight per peer
 * carrying everything queued since: a slow or dead peer only fills its own queue, and a full
 * queue drops messages (raft retries on its own), so memory stays bounded.
 */

export interface PeerTarget {
  id: string;
  urls: string[];
}

export interface TransportHooks {
  /** The peer could not be reached: raft should stop optimistic replication to it. */
  unreachable(id: string): void;
  /** A snapshot message needs the state machine's data streamed: returns when done. */
  sendSnapshot(peer: PeerTarget, m: Message): Promise<void>;
  snapshotDone(id: string, ok: boolean): void;
}

export const PEER_HEADERS = { cluster: 'x-edgecd-cluster-id', from: 'x-edgecd-from', to: 'x-edgecd-to' };

const MAX_QUEUE = 4096;
const TIMEOUT_MS = 5000;

class PeerQueue {
  private queue: WireMessage[] = [];
  private sending = false;
  private urlIndex = 0;

  constructor(
    public target: PeerTarget,
    private readonly clusterId: () => string,
    private readonly selfId: string,
    private readonly hooks: TransportHooks,
    private readonly http: PeerHttp,
  ) {}

  push(m: Message): void {
    if (m.type === 'MsgSnap') {
      this.hooks
        .sendSnapshot(this.target, m)
        .then(() => this.hooks.snapshotDone(this.target.id, true))
        .catch((err: Error) => {
          console.error(`edgecd: sending a snapshot to ${this.target.id} failed: ${err.message}`);
          this.hooks.snapshotDone(this.target.id, false);
        });
      return;
    }
    if (this.queue.length >= MAX_QUEUE) return;
    this.queue.push(toWire(m));
    if (!this.sending) void this.flush();
  }

  private async flush(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const url = this.target.urls[this.urlIndex % this.target.urls.length];
      try {
        const r = await this.http.request(
          'POST',
          `${url}/raft/messages`,
          {
            'content-type': 'application/json',
            [PEER_HEADERS.cluster]: this.clusterId(),
            [PEER_HEADERS.from]: this.selfId,
            [PEER_HEADERS.to]: this.target.id,
          },
          JSON.stringify(batch),
          TIMEOUT_MS,
        );
        if (r.status !== 204) throw new Error(`peer answered ${r.status}`);
      } catch {
        this.urlIndex++;
        this.hooks.unreachable(this.target.id);
        // Back off a little so a dead peer costs nothing much; raft resends what matters.
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.sending = false;
  }
}

export class Transport {
  private readonly peers = new Map<string, PeerQueue>();

  constructor(
    private readonly selfId: string,
    private readonly clusterId: () => string,
    private readonly hooks: TransportHooks,
    private readonly http: PeerHttp,
  ) {}

  setPeers(targets: PeerTarget[]): void {
    const keep = new Set<string>();
    for (const t of targets) {
      if (t.id === this.selfId) continue;
      keep.add(t.id);
      const q = this.peers.get(t.id);
      if (q) q.target = t;
      else this.peers.set(t.id, new PeerQueue(t, this.clusterId, this.selfId, this.hooks, this.http));
    }
    for (const id of [...this.peers.keys()]) if (!keep.has(id)) this.peers.delete(id);
  }

  send(messages: Message[]): void {
    for (const m of messages) {
      const q = this.peers.get(m.to);
      if (q) q.push(m);
      else this.hooks.unreachable(m.to);
    }
  }

  peer(id: string): PeerTarget | undefined {
    return this.peers.get(id)?.target;
  }
}
