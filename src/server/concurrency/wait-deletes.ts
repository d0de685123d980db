import { Errors } from '../../errors.ts';
import type { AuthInfo } from '../../auth/index.ts';
import { EventType, Watcher, type EventBatch } from '../../mvcc/watcher-group.ts';
import type { ResponseHeader } from '../rpc-types.ts';
import { type CoordinationKv, lastCreatedBefore } from './requests.ts';

/** The member's watchable store, as the waits use it. */
export interface KeyWatches {
  watch(w: Watcher, startRev: number): void;
  cancel(w: Watcher): void;
  /** Lets watchers that fell behind catch up. */
  kick(): void;
}

/** Resolves once key is deleted at a revision >= fromRev (clientv3 concurrency's waitDelete). */
export function waitDelete(watches: KeyWatches, key: string, fromRev: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = (err?: unknown) => {
      watches.cancel(w);
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => done(signal.reason);
    const w = new Watcher(
      {
        writable: true,
        deliver(_w, batch: EventBatch) {
          if (batch.events.some((e) => e.type === EventType.DELETE)) done();
        },
        compacted: () => done(Errors.compacted()),
      },
      key,
      undefined,
      false,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    watches.watch(w, fromRev);
  });
}

/**
 * Waits until no key under prefix was created at or before maxCreateRev (clientv3 concurrency's
 * waitDeletes): each round reads the newest such key and waits for its deletion. Answers the header
 * of the read that found none.
 */
export async function waitDeletes(
  kv: CoordinationKv,
  watches: KeyWatches,
  prefix: string,
  maxCreateRev: number,
  ai: AuthInfo,
  signal: AbortSignal,
): Promise<ResponseHeader> {
  for (;;) {
    const resp = await kv.range(lastCreatedBefore(prefix, maxCreateRev), ai);
    signal.throwIfAborted();
    if (resp.kvs.length === 0) return resp.header;
    await waitDelete(watches, resp.kvs[0].key, resp.header.revision, signal);
  }
}
