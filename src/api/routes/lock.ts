import type { Context, Hono } from 'hono';
import { Errors, viaClient } from '../../errors.ts';
import type { LockService } from '../../server/member.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';
import { LockRequestDesc, UnlockRequestDesc } from '../json/concurrency-messages.ts';
import { lockResponse } from '../json/concurrency-responses.ts';
import { headerOnly } from '../json/encode.ts';
import { type AuthInfo, authorize } from '../middleware/auth-token/index.ts';
import { clientGone } from '../node-env.ts';
import type { OpenStreams } from '../streams.ts';

/**
 * The caller, as etcd's lock and election servers learn it: from the KV calls they make, so a bad
 * token is an error of those calls (code 2), not of the route.
 */
export async function callerOf(c: Context): Promise<AuthInfo> {
  try {
    return await authorize(c);
  } catch (err) {
    throw viaClient(err);
  }
}

/**
 * Runs a request that may wait a long time (a lock, a campaign): it is abandoned when the client
 * goes away, and when the member shuts down (the answer then says so).
 */
export async function waiting<T>(c: Context, streams: OpenStreams, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const gone = clientGone(c);
  const onGone = () => ac.abort(gone.reason);
  gone.addEventListener('abort', onGone, { once: true });
  const untrack = streams.add({ shutdown: () => ac.abort(Errors.stopped()) });
  try {
    return await run(ac.signal);
  } finally {
    untrack();
    gone.removeEventListener('abort', onGone);
  }
}

/** /v3/lock/*: etcd's v3lock service. */
export function lockRoutes(app: Hono, g: GatewayContext, locks: LockService, streams: OpenStreams): void {
  gatewayRoute<{ name: string; lease: bigint }>(app, '/lock/lock', g, {
    desc: LockRequestDesc,
    raft: true,
    auth: false,
    async handle(req, c, enc) {
      const ai = await callerOf(c);
      const r = await waiting(c, streams, (signal) => locks.lock(req.name, req.lease, ai, signal));
      return lockResponse(r.header, g.headerInfo(), r.key, enc);
    },
  });
  gatewayRoute<{ key: string }>(app, '/lock/unlock', g, {
    desc: UnlockRequestDesc,
    raft: true,
    auth: false,
    async handle(req, c) {
      const r = await locks.unlock(req.key, await callerOf(c));
      return headerOnly(r.header, g.headerInfo());
    },
  });
}
