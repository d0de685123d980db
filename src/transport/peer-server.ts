import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { errorField, type Logger } from '../logging/logger.ts';
import type { Message } from '../raft/index.ts';
import { fromWire, type WireMessage } from './codec.ts';
import { PEER_HEADERS } from './peers.ts';

/** What the peer endpoints need from the member. */
export interface PeerHandler {
  clusterId(): bigint;
  selfNodeId(): string;
  step(m: Message): void;
  /** A snapshot's data arrived for raft index `index`, saved at `file`. */
  snapshotReceived(index: number, file: string): void;
  members(): unknown;
  promote(id: bigint): Promise<unknown>;
  /** A follower forwards keep-alives and TTL questions to the leader. */
  lease(kind: 'renew' | 'ttl', id: bigint): Promise<{ ttl: number }>;
  log?: Logger;
  /** The leader compares members' key-space hashes at one revision (corruption checks). */
  hashKV(revision: number): Promise<{ hash: number; compactRevision: number; revision: number }>;
}

/**
 * The peer side of the transport: raft message batches, streamed snapshots, and the member list
 * a joining member asks for. Requests must name our cluster and this member.
 */
export function peerApp(h: PeerHandler, snapshotDir: string): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    h.log?.error({ path: c.req.path, ...errorField(err) }, 'peer request failed');
    return c.text(err.message, 500);
  });
  const check = (headers: (name: string) => string | undefined): string | undefined => {
    if (headers(PEER_HEADERS.cluster) !== h.clusterId().toString()) return 'cluster ID mismatch';
    if (headers(PEER_HEADERS.to) !== h.selfNodeId()) return 'message is not for this member';
    return undefined;
  };

  // A peer's stream of message batches, a JSON array a line, stepped as each line arrives. It is
  // answered only when the peer ends it (or at once, when refused).
  app.post('/raft/stream', async (c) => {
    const bad = check((n) => c.req.header(n));
    if (bad) return c.text(bad, 412);
    const lines = new LineSplitter(
      (line) => {
        for (const w of JSON.parse(line) as WireMessage[]) h.step(fromWire(w));
      },
      (err) => h.log?.warn(errorField(err), 'a bad line on a peer stream was dropped'),
    );
    const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
    if (env?.incoming && env.outgoing) {
      const { incoming, outgoing } = env;
      incoming.setEncoding('utf8');
      await new Promise<void>((resolve) => {
        incoming.on('data', (chunk: string) => lines.push(chunk));
        incoming.once('end', resolve);
        incoming.once('close', resolve);
        incoming.once('error', () => resolve());
      });
      if (!outgoing.headersSent && outgoing.writable) outgoing.writeHead(204).end();
      return RESPONSE_ALREADY_SENT;
    }
    const reader = c.req.raw.body?.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const r = await reader?.read();
      if (!r || r.done) break;
      lines.push(r.value);
    }
    return c.body(null, 204);
  });

  // Batches one request each, as members before streams sent them.
  app.post('/raft/messages', async (c) => {
    const bad = check((n) => c.req.header(n));
    if (bad) return c.text(bad, 412);
    const batch = (await c.req.json()) as WireMessage[];
    for (const w of batch) h.step(fromWire(w));
    return c.body(null, 204);
  });

  app.post('/raft/snapshot', async (c) => {
    const bad = check((n) => c.req.header(n));
    if (bad) return c.text(bad, 412);
    const m = fromWire(JSON.parse(Buffer.from(c.req.header('x-edgecd-message') ?? '', 'base64').toString()) as WireMessage);
    if (!m.snapshot) return c.text('no snapshot metadata', 400);
    mkdirSync(snapshotDir, { recursive: true });
    const file = path.join(snapshotDir, `snap-${m.snapshot.metadata.term}-${m.snapshot.metadata.index}.ndjson`);
    const body = c.req.raw.body;
    if (!body) return c.text('empty snapshot', 400);
    await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream), createWriteStream(file));
    h.snapshotReceived(m.snapshot.metadata.index, file);
    h.step(m);
    return c.body(null, 204);
  });

  // A probe names our cluster and this member (a peer URL taken over by another member or cluster
  // must not count as the peer being up); older probers sent no names.
  app.get('/raft/probe', (c) => {
    const cluster = c.req.header(PEER_HEADERS.cluster);
    const to = c.req.header(PEER_HEADERS.to);
    if (cluster !== undefined && cluster !== h.clusterId().toString()) return c.text('cluster ID mismatch', 412);
    if (to !== undefined && to !== h.selfNodeId()) return c.text('message is not for this member', 412);
    return c.body(null, 204);
  });
  app.get('/raft/members', (c) => c.json({ clusterId: h.clusterId().toString(), members: h.members() }));

  // Questions one member asks another: the answer, or the etcd error the asked member refused with.
  const ask = (route: string, fn: (body: Record<string, string>) => Promise<Record<string, unknown>>) =>
    app.post(route, async (c) => {
      if (c.req.header(PEER_HEADERS.cluster) !== h.clusterId().toString()) return c.text('cluster ID mismatch', 412);
      try {
        return c.json({ ok: true, ...(await fn((await c.req.json()) as Record<string, string>)) });
      } catch (err) {
        const e = err as { code?: number; message?: string };
        return c.json({ ok: false, code: e.code ?? 2, message: e.message ?? String(err) }, 400);
      }
    });
  ask('/raft/lease', async ({ kind, id }) => h.lease(kind as 'renew' | 'ttl', BigInt(id)));
  ask('/raft/promote', async ({ id }) => ({ members: await h.promote(BigInt(id)) }));
  ask('/raft/hashkv', async ({ revision }) => ({ ...(await h.hashKV(Number(revision))) }));
  return app;
}

/** Cuts text arriving in chunks into lines; a bad line is dropped (raft resends what matters). */
class LineSplitter {
  private rest = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onBad?: (err: unknown) => void,
  ) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      const line = text.slice(start, nl);
      start = nl + 1;
      if (!line) continue;
      try {
        this.onLine(line);
      } catch (err) {
        this.onBad?.(err);
      }
    }
    this.rest = text.slice(start);
  }
}
