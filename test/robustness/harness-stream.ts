import type http from 'node:http';

/** The streams open now: the harness closes them all when it stops. */
export type OpenStreams = Set<{ close(reason: string): void }>;

/** Where a stream's end is recorded (a watch or observe session). */
export interface StreamEnd {
  end?: number;
  endReason?: string;
}

/**
 * One watcher's or observer's stream, from its request to its end. It ends once, for the first
 * reason: the harness stopping, its lifetime running out (the harness drops healthy streams too,
 * to test resuming), silence for idleMs (a paused or cut-off member gives no other sign), or the
 * connection's status, error or end. The end is then recorded and the connection cut.
 */
export class HarnessStream {
  /** Settles once the stream has ended and its end is recorded. */
  readonly ended: Promise<void>;
  private done = false;
  private settle!: () => void;
  private idle: NodeJS.Timeout | undefined;
  private readonly life: NodeJS.Timeout | undefined;
  private req: http.ClientRequest | undefined;

  constructor(
    private readonly open: OpenStreams,
    private readonly rec: StreamEnd,
    private readonly now: () => number,
    private readonly idleMs: number,
    lifetimeMs: number,
  ) {
    this.ended = new Promise<void>((r) => (this.settle = r));
    open.add(this);
    if (lifetimeMs < Infinity) this.life = setTimeout(() => this.close('dropped by harness'), lifetimeMs);
  }

  /** Reads req's answer: a 200's body goes to onChunk as text; another status goes to onRefused and ends the stream. */
  follow(req: http.ClientRequest, onChunk: (chunk: string) => void, onRefused?: (status: number | undefined) => void): void {
    this.req = req;
    req.on('response', (res: http.IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        onRefused?.(res.statusCode);
        this.close(`status ${res.statusCode}`);
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        this.touch();
        onChunk(chunk);
      });
      res.on('end', () => this.close('stream ended'));
      res.on('error', () => this.close('stream error'));
    });
    req.on('error', (err) => this.close(`request error: ${err.message}`));
    this.touch();
  }

  /**
   * A chunk reader for the gateway's newline-delimited JSON streams: each line's result goes to
   * onResult until the stream ends; a line that is not JSON, or an error, ends it.
   */
  jsonLines(onResult: (result: any) => void): (chunk: string) => void {
    let pending = '';
    return (chunk) => {
      pending += chunk;
      let nl: number;
      while (!this.done && (nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let o: any;
        try {
          o = JSON.parse(line);
        } catch {
          this.close(`bad line: ${line.slice(0, 80)}`);
          return;
        }
        if (o.error) this.close(`stream error: ${JSON.stringify(o.error).slice(0, 120)}`);
        else onResult(o.result ?? {});
      }
    };
  }

  close(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.rec.end = this.now();
    this.rec.endReason = reason;
    clearTimeout(this.idle);
    clearTimeout(this.life);
    this.open.delete(this);
    this.req?.destroy();
    this.settle();
  }

  private touch(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.close('idle'), this.idleMs);
  }
}
