import type { WatchableStore } from '../../mvcc/watchable-store.ts';
import type { EventBatch, Watcher } from '../../mvcc/watcher-group.ts';
import { BASE64, type BytesEncoding } from '../json/bytes-encoding.ts';
import type { HeaderInfo } from '../json/encode.ts';
import type { WatchCreateRequest, WatchRequest } from '../json/watch-messages.ts';
import { batchBytes, batchEventsJson, eventsJson, fragmentEvents, gatewayStreamError, watchResponseJson, type WatchResponseFields } from './encode.ts';
import type { EventSink } from './sink.ts';
import { StreamWatcher, WatchSession, type WatchLimits } from './session.ts';
import { GRPC_OVERHEAD } from '../middleware/request-limits/index.ts';

/** etcd's key rules for a create request: an empty key is "\0"; range_end "\0" means every key from key on. */
export function watchRange(key: string, rangeEnd: string): { key: string; end: string | undefined } {
  return { key: key === '' ? '\0' : key, end: rangeEnd === '' ? undefined : rangeEnd === '\0' ? '' : rangeEnd };
}

export const emptyRange = (key: string, end: string | undefined): boolean => end !== undefined && end !== '' && key >= end;

/**
 * One POST /v3/watch stream, answering as etcd 3.4's gateway does: newline-delimited
 * {"result": WatchResponse}, many watchers each with its watch_id.
 */
export class GatewayWatchSession extends WatchSession {
  private nextId = 0;
  private progressWanted = false;

  constructor(
    store: WatchableStore,
    sink: EventSink,
    limits: WatchLimits,
    headerInfo: () => HeaderInfo,
    /** Why a create request is refused (a bad token, a range the caller may not read), as a cancel_reason. */
    private readonly refusal?: (key: string, rangeEnd: string) => string | undefined,
    /** How events write keys and values. */
    private readonly enc: BytesEncoding = BASE64,
  ) {
    super(store, sink, limits, headerInfo);
  }

  handle(req: WatchRequest): void {
    if (this.closed) return;
    if (req.createRequest) this.create(req.createRequest);
    else if (req.cancelRequest) this.cancelWatch(req.cancelRequest.watchId);
    else if (req.progressRequest) this.progressRequested();
  }

  private line(f: WatchResponseFields): void {
    this.write(`{"result":${watchResponseJson(this.headerInfo(), f)}}\n`);
  }

  private create(c: WatchCreateRequest): void {
    const wsrev = this.store.revision;
    const refuse = (cancelReason: string) => this.line({ revision: wsrev, watchId: '-1', created: true, canceled: true, cancelReason });
    const refused = this.refusal?.(c.key, c.rangeEnd);
    if (refused) return refuse(refused);
    const { key, end } = watchRange(c.key, c.rangeEnd);
    if (emptyRange(key, end)) return refuse('mvcc: watcher range is empty');
    let id: string;
    if (c.watchId === 0n) {
      while (this.watchers.has(String(this.nextId))) this.nextId++;
      id = String(this.nextId++);
    } else {
      id = c.watchId.toString();
      if (this.watchers.has(id)) return refuse('mvcc: duplicate watch ID provided on the WatchStream');
    }
    const w = new StreamWatcher(this, key, end, c.prevKv, c.filters);
    w.id = id;
    w.progressNotify = c.progressNotify;
    w.fragment = c.fragment;
    // Created goes first: every event of the watcher follows it.
    this.line({ revision: wsrev, watchId: id, created: true });
    this.addWatcher(w, c.startRevision);
  }

  private cancelWatch(watchId: bigint): void {
    const w = this.watchers.get(watchId.toString());
    if (!w) return;
    this.removeWatcher(w);
    this.line({ revision: this.store.revision, watchId: w.id, canceled: true });
  }

  /**
   * etcd 3.4 answers at once with watch_id -1 and the current revision. Here the answer waits until
   * every watcher of the stream is synced, so it also promises that no event at or below its
   * revision is still to come (what etcd 3.5 made of it).
   */
  private progressRequested(): void {
    if (this.allSynced()) this.line({ revision: this.store.revision, watchId: '-1' });
    else this.progressWanted = true;
  }

  private allSynced(): boolean {
    for (const w of this.watchers.values()) if (!this.store.isSynced(w) && this.isLive(w)) return false;
    return true;
  }

  private isLive(w: StreamWatcher): boolean {
    return !this.compactedIds.has(w.id);
  }

  private readonly compactedIds = new Set<string>();

  override synced(_w: Watcher): void {
    if (this.progressWanted && this.allSynced()) {
      this.progressWanted = false;
      this.line({ revision: this.store.revision, watchId: '-1' });
    }
  }

  deliver(w: Watcher, batch: EventBatch, revision: number, _through: number): void {
    const sw = w as StreamWatcher;
    sw.idle = false;
    if (sw.fragment) {
      const info = this.headerInfo();
      const pieces = fragmentEvents(info, revision, sw.id, batch.events, batch.withPrev, this.limits.maxRequestBytes + GRPC_OVERHEAD);
      if (pieces.length > 1) {
        pieces.forEach((evs, i) =>
          this.line({ revision, watchId: sw.id, fragment: i < pieces.length - 1, events: eventsJson(evs, batch.withPrev, this.enc) }),
        );
        return;
      }
    }
    const info = this.headerInfo();
    this.write(
      batchBytes(batch, `n${sw.id}|${revision}|${this.enc.name}`, () => `{"result":${watchResponseJson(info, { revision, watchId: sw.id, events: batchEventsJson(batch, this.enc) })}}\n`),
    );
  }

  compacted(w: Watcher, compactRev: number): void {
    const sw = w as StreamWatcher;
    // etcd keeps the id taken (a cancel still answers), but the watcher gets nothing more.
    this.compactedIds.add(sw.id);
    this.line({ revision: 0, watchId: sw.id, canceled: true, compactRevision: compactRev });
    if (this.progressWanted) this.synced(w);
  }

  protected sendProgress(w: StreamWatcher, rev: number): void {
    this.line({ revision: rev, watchId: w.id });
  }

  /** grpc-gateway's form for an error in the middle of a stream. */
  protected finalMessage(reason: string, code: 8 | 14): string {
    return gatewayStreamError(reason, code);
  }

  protected override removeWatcher(w: StreamWatcher): void {
    super.removeWatcher(w);
    this.compactedIds.delete(w.id);
  }
}
