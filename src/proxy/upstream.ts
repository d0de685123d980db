/**
 * What the proxy needs of the cluster behind it, as interfaces: the Node implementation
 * (node-upstream.ts) speaks HTTP to the members; tests hand in fakes.
 */

/** A unary call's answer: status and body as the member wrote them. */
export interface UpstreamAnswer {
  status: number;
  body: string;
  endpoint: string;
}

/** One message of a gateway watch stream: a `result` (WatchResponse) or an `error`. */
export interface UpstreamWatchMessage {
  result?: UpstreamWatchResponse;
  error?: { grpc_code?: number; message?: string };
}

/** etcdserverpb.WatchResponse in the gateway's JSON (base64 bytes, int64 as strings). */
export interface UpstreamWatchResponse {
  header?: { cluster_id?: string; member_id?: string; revision?: string; raft_term?: string };
  watch_id?: string;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: UpstreamEvent[];
}

export interface UpstreamKv {
  key?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  value?: string;
  lease?: string;
}

export interface UpstreamEvent {
  type?: 'PUT' | 'DELETE';
  kv?: UpstreamKv;
  prev_kv?: UpstreamKv;
}

export interface UpstreamWatchHandlers {
  onMessage(m: UpstreamWatchMessage): void;
  /** The stream is over: the member went away, answered an HTTP error, or close() was called. */
  onEnd(err?: Error & { status?: number; body?: string }): void;
}

/** One POST /v3/watch stream to one member. */
export interface UpstreamWatch {
  readonly endpoint: string;
  /** Sends one WatchRequest (a JSON object) on the stream. */
  send(req: object): void;
  close(): void;
}

export interface Upstream {
  /** A unary POST, tried on the next endpoint while one refuses the connection. */
  call(path: string, body: string, token?: string): Promise<UpstreamAnswer>;
  /** Opens a watch stream on the current endpoint; `query` (e.g. "?encoding=text") is added to its URL. */
  watch(token: string | undefined, h: UpstreamWatchHandlers, query?: string): UpstreamWatch;
  /** The endpoint failed (refused, reset, ended a stream): later calls and watches go to the next one. */
  failed(endpoint: string): void;
}

/** The members' client URLs, one of them current; a failure moves the current one on (round robin). */
export class Endpoints {
  private i = 0;
  constructor(readonly urls: string[]) {
    if (urls.length === 0) throw new Error('no endpoints');
  }

  get current(): string {
    return this.urls[this.i];
  }

  /** Every endpoint, the current one first. */
  order(): string[] {
    return [...this.urls.slice(this.i), ...this.urls.slice(0, this.i)];
  }

  failed(url: string): void {
    if (this.urls[this.i] === url) this.i = (this.i + 1) % this.urls.length;
  }
}
