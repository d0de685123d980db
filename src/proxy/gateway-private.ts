import type { BytesEncoding } from '../api/json/bytes-encoding.ts';
import type { WatchCreateRequest } from '../api/json/watch-messages.ts';
import { clusterHeader, type ClusterHeader } from './watch-check.ts';
import type { FeedStats } from './feed-spec.ts';
import type { Upstream, UpstreamWatch, UpstreamWatchMessage, UpstreamWatchResponse } from './upstream.ts';

/**
 * The watches of one gateway stream that the shared feeds cannot answer exactly, on a watch stream
 * of their own to a member, opened with the client's token at the first such create: a create with
 * `fragment` (where a response is cut depends on the member's --max-request-bytes, which the proxy
 * does not know) and one with an empty key (the member checks permission on the empty key itself,
 * which no range read can ask). The member's answers pass through as it wrote them (parsed and
 * written again: same fields in the same order); the proxy picks the watch ids (the member takes
 * the id it is given) and keeps progress answers to itself, to answer the client's progress
 * requests once for the whole stream. If this stream fails, the client's stream is ended (as a
 * passed-through stream would end with its member).
 */
export class PrivateWatches {
  private w: UpstreamWatch | undefined;
  private open = false;
  private created: ((r: UpstreamWatchResponse) => void)[] = [];
  private progress: ((h: ClusterHeader) => void)[] = [];
  private over = false;

  constructor(
    private readonly upstream: Upstream,
    private readonly stats: FeedStats & { privateStreams?: number },
    private readonly token: string | undefined,
    private readonly enc: BytesEncoding,
    /** An answer line for the client. */
    private readonly write: (line: string) => void,
    /** The stream failed: the client's stream ends, saying why. */
    private readonly lost: (why: string) => void,
  ) {}

  /** Whether a stream is open (then the client's progress requests wait for its progress answer too). */
  get active(): boolean {
    return this.w !== undefined && !this.over;
  }

  /** Sends the create with watch id `id` ('0': the member's first automatic id, which is 0 on a new stream); resolves with the member's created answer (already written). */
  create(c: WatchCreateRequest, id: string): Promise<UpstreamWatchResponse> {
    const w = this.stream();
    const json = (bytes: string) => JSON.parse(this.enc.json(bytes)) as unknown;
    const req: Record<string, unknown> = { key: json(c.key) };
    if (c.rangeEnd !== '') req.range_end = json(c.rangeEnd);
    if (c.startRevision !== 0) req.start_revision = String(c.startRevision);
    if (c.progressNotify) req.progress_notify = true;
    if (c.filters.length) req.filters = c.filters;
    if (c.prevKv) req.prev_kv = true;
    if (id !== '0') req.watch_id = id;
    if (c.fragment) req.fragment = true;
    return new Promise((resolve) => {
      this.created.push(resolve);
      w.send({ create_request: req });
    });
  }

  cancel(id: string): void {
    this.w?.send({ cancel_request: { watch_id: id } });
  }

  /** The member's progress answer on this stream: every event of its watchers up to the revision was sent. */
  askProgress(): Promise<ClusterHeader> {
    return new Promise((resolve) => {
      this.progress.push(resolve);
      this.w?.send({ progress_request: {} });
    });
  }

  close(): void {
    this.over = true;
    this.w?.close();
  }

  private stream(): UpstreamWatch {
    if (this.w) return this.w;
    this.open = true;
    this.stats.upstreamWatches++;
    this.stats.privateStreams = (this.stats.privateStreams ?? 0) + 1;
    this.w = this.upstream.watch(this.token, { onMessage: (m) => this.message(m), onEnd: (err) => this.ended(err) }, this.enc.name === 'base64' ? '' : `?encoding=${this.enc.name}`);
    return this.w;
  }

  private message(m: UpstreamWatchMessage): void {
    if (this.over) return;
    const r = m.result;
    if (!r) {
      this.write(JSON.stringify(m) + '\n');
      return this.fail(m.error?.message ?? 'the member ended the watch stream');
    }
    if (r.created) {
      this.write(JSON.stringify(m) + '\n');
      this.created.shift()?.(r);
      return;
    }
    if (r.watch_id === '-1' && !r.canceled && !r.events?.length) {
      const p = this.progress.shift();
      if (p) return p(clusterHeader(r.header));
    }
    this.write(JSON.stringify(m) + '\n');
  }

  private ended(err?: Error): void {
    if (this.open) {
      this.open = false;
      this.stats.upstreamWatches--;
      this.stats.privateStreams = (this.stats.privateStreams ?? 1) - 1;
    }
    if (!this.over) this.fail(err?.message ?? 'the member closed the watch stream');
  }

  private fail(why: string): void {
    if (this.over) return;
    this.over = true;
    this.w?.close();
    this.lost(`edgecd proxy: the member serving this stream's unshared watches went away: ${why}`);
  }
}
