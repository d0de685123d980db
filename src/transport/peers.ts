import { errorField, type Logger } from '../logging/logger.ts';
import type { Message } from '../raft/index.ts';
import { toWire } from './codec.ts';
import { Outbox } from './outbox.ts';
import type { PeerHttp, PeerStream } from './peer-http.ts';
import { PeerStatus } from './peer-status.ts';

/**
 * Sends raft messages to peers over HTTP. One stream per peer: a long-lived request whose body
 * carries a line of messages per batch (NDJSON), written as they come, never waiting for a reply;
 * one stream keeps them in order. A slow or dead peer only fills its own queue, and a full queue
 * drops messages (raft retries on its own), so memory stays bounded.
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
  /** Messages to the peer were lost: a full queue, or a stream that broke (etcd's peer send failures). */
  sendFailed?: (id: string) => void;
  /** A probe's round trip to the peer, in seconds. */
  roundTrip?: (id: string, seconds: number) => void;
  /** The peer became active (an exchange succeeded) or inactive (one failed): etcd's peer status. */
  peerActive?: (id: string, active: boolean, reason?: string) => void;
  log?: Logger;
}

export const PEER_HEADERS = { cluster: 'x-edgecd-cluster-id', from: 'x-edgecd-from', to: 'x-edgecd-to' };

const MAX_QUEUE = 4096;
/** A stream that cannot take more for this long counts as a dead peer. */
const STALL_MS = 5000;
/** After a stream failed, how long before the next is opened. */
const RETRY_MS = 50;

class PeerQueue {
  private queue = new Outbox();
  private scheduled = false;
  private stream: PeerStream | undefined;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private urlIndex = 0;
  private closed = false;

  constructor(
    public target: PeerTarget,
    private readonly clusterId: () => string,
    private readonly selfId: string,
    private readonly hooks: TransportHooks,
    private readonly http: PeerHttp,
    private readonly status: PeerStatus,
  ) {}

  push(m: Message): void {
    if (m.type === 'MsgSnap') {
      this.hooks
        .sendSnapshot(this.target, m)
        .then(() => {
          this.hooks.log?.info({ to: this.target.id, index: m.snapshot?.metadata.index }, 'sent a snapshot');
          this.hooks.snapshotDone(this.target.id, true);
        })
        .catch((err: Error) => {
          this.hooks.log?.warn({ to: this.target.id, ...errorField(err) }, 'sending a snapshot failed');
          this.status.deactivate(this.target.id, `sending a snapshot failed: ${err.message}`);
          this.hooks.snapshotDone(this.target.id, false);
        });
      return;
    }
    if (this.queue.size >= MAX_QUEUE) {
      this.hooks.sendFailed?.(this.target.id);
      return;
    }
    this.queue.push(m);
    // Everything pushed in this turn of the event loop goes out as one line, coalesced by the outbox.
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** The peer's URLs changed: the next stream goes to the new ones. */
  retarget(t: PeerTarget): void {
    const moved = JSON.stringify(t.urls) !== JSON.stringify(this.target.urls);
    this.target = t;
    if (moved) this.stream?.close();
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.queue.size === 0) return;
    if (this.target.urls.length === 0) {
      this.queue.take();
      return;
    }
    if (!this.stream) {
      const wait = this.retryAt - Date.now();
      if (wait > 0) {
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = undefined;
          this.flush();
        }, wait);
        return;
      }
      this.open();
    }
    const s = this.stream!;
    if (s.congested) return; // the drain event flushes
    const batch = this.queue.take().map(toWire);
    if (!s.write(`${JSON.stringify(batch)}\n`) && !s.closed) {
      this.stallTimer ??= setTimeout(() => {
        this.stallTimer = undefined;
        if (this.stream === s && s.congested) s.close();
      }, STALL_MS);
    }
  }

  private open(): void {
    const url = this.target.urls[this.urlIndex % this.target.urls.length];
    const headers = { [PEER_HEADERS.cluster]: this.clusterId(), [PEER_HEADERS.from]: this.selfId, [PEER_HEADERS.to]: this.target.id };
    const s = this.http.openStream(
      `${url}/raft/stream`,
      headers,
      (err) => {
        // Closed: the peer is down, refused us, or stalled. Whatever was on the way is lost (raft resends).
        if (this.stream !== s) return;
        this.status.deactivate(this.target.id, `the message stream closed: ${err?.message ?? 'closed here'}`);
        this.stream = undefined;
        this.urlIndex++;
        this.retryAt = Date.now() + RETRY_MS;
        this.hooks.sendFailed?.(this.target.id);
        this.hooks.unreachable(this.target.id);
        if (this.queue.size) this.flush();
      },
      () => {
        if (this.stallTimer) clearTimeout(this.stallTimer);
        this.stallTimer = undefined;
        this.flush();
      },
    );
    this.stream = s;
  }

  close(): void {
    this.closed = true;
    this.queue.take();
    const s = this.stream;
    this.stream = undefined;
    s?.close();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.stallTimer) clearTimeout(this.stallTimer);
  }
}

export class Transport {
  private readonly peers = new Map<string, PeerQueue>();
  /** Since when each peer has answered without a failure (etcd's ActiveSince). */
  readonly status: PeerStatus;

  constructor(
    private readonly selfId: string,
    private readonly clusterId: () => string,
    private readonly hooks: TransportHooks,
    private readonly http: PeerHttp,
    now: () => number = Date.now,
  ) {
    this.status = new PeerStatus(now, hooks.peerActive);
  }

  setPeers(targets: PeerTarget[]): void {
    const keep = new Set<string>();
    for (const t of targets) {
      if (t.id === this.selfId) continue;
      keep.add(t.id);
      const q = this.peers.get(t.id);
      if (q) q.retarget(t);
      else this.peers.set(t.id, new PeerQueue(t, this.clusterId, this.selfId, this.hooks, this.http, this.status));
    }
    for (const [id, q] of this.peers) {
      if (keep.has(id)) continue;
      q.close();
      this.peers.delete(id);
      this.status.deactivate(id, 'removed from the cluster');
    }
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

  /** Since when (ms) the peer has been active, 0 when it is not (etcd's Transport.ActiveSince). */
  activeSince(id: string): number {
    return this.status.activeSince(id);
  }

  /**
   * Asks every peer once whether it is there: an answer makes it active, a failure inactive. Each
   * member probes every peer, so a follower knows of the other followers too, with which it
   * exchanges no raft messages. With `measure`, the round trip is observed (etcd probes every 5 s
   * for its histogram) and a failed probe counts as a send failure.
   */
  async probe(measure = true): Promise<void> {
    await Promise.all(
      [...this.peers.values()].map(async (q) => {
        const { id, urls } = q.target;
        const url = urls[0];
        if (!url) return;
        const t0 = performance.now();
        try {
          const r = await this.http.request('GET', `${url}/raft/probe`, { [PEER_HEADERS.cluster]: this.clusterId(), [PEER_HEADERS.to]: id }, undefined, 5000);
          if (r.status !== 204) throw new Error(`probe answered ${r.status}${r.body ? `: ${r.body}` : ''}`);
          // A peer removed while the probe was out is not brought back.
          if (this.peers.get(id) === q) this.status.activate(id);
          if (measure) this.hooks.roundTrip?.(id, (performance.now() - t0) / 1000);
        } catch (err) {
          this.status.deactivate(id, `probe failed: ${(err as Error).message}`);
          if (measure) this.hooks.sendFailed?.(id);
        }
      }),
    );
  }

  /** Closes every stream; nothing is sent afterwards. */
  close(): void {
    for (const q of this.peers.values()) q.close();
    this.peers.clear();
  }
}
