import { type AuthInfo, checkTxn } from '../auth/index.ts';
import { Errors } from '../errors.ts';
import type { Lessor } from '../lease/lessor.ts';
import type { KvStore } from '../mvcc/kv-store.ts';
import { applyRange, applyTxn, isTxnReadonly, type KvContext, type Waits } from './apply-kv.ts';
import type { AuthService } from './auth-service.ts';
import type { Proposals } from './proposals.ts';
import type { ReadBarrier } from './read-barrier.ts';
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from './rpc-types.ts';

export interface KvServiceOptions {
  kv: KvStore;
  kvCtx: KvContext;
  lessor: Lessor;
  proposals: Proposals;
  reads: ReadBarrier;
  auth: AuthService;
  /** Stopped members refuse reads too. */
  stopped(): boolean;
}

/** Who asked, in the form a raft entry carries it; nothing for a request without a token. */
export const headerOf = (ai: AuthInfo) => (ai.username === '' && ai.revision === 0 ? undefined : { username: ai.username, authRevision: ai.revision });

/**
 * etcd's KV service as the member answers it: reads on local state (after a ReadIndex round unless
 * serializable), checked against the caller's permissions; writes through the log, checked at apply.
 */
export class KvService {
  constructor(private readonly o: KvServiceOptions) {}

  async range(req: RangeRequest, ai: AuthInfo): Promise<RangeResponse> {
    const { auth } = this.o;
    if (this.o.stopped()) throw Errors.stopped();
    if (!req.serializable) await this.o.reads.wait();
    auth.checkRead(ai, { key: req.key, rangeEnd: req.rangeEnd });
    const waits: Waits = [];
    const resp = applyRange(this.o.kv, req, waits);
    if (waits.length) await Promise.all(waits);
    // A serializable read was checked against permissions that may have changed meanwhile.
    if (req.serializable) auth.checkAfterRead(ai);
    return resp;
  }

  async put(req: PutRequest, ai: AuthInfo): Promise<PutResponse> {
    return (await this.o.proposals.propose<PutResponse>({ put: req, header: headerOf(ai) })).resp;
  }

  async deleteRange(req: DeleteRangeRequest, ai: AuthInfo): Promise<DeleteRangeResponse> {
    return (await this.o.proposals.propose<DeleteRangeResponse>({ deleteRange: req, header: headerOf(ai) })).resp;
  }

  /** A txn with no writes runs on local state after the read barrier; any other goes through the log. */
  async txn(req: TxnRequest, ai: AuthInfo): Promise<TxnResponse> {
    if (!isTxnReadonly(req)) {
      const a = await this.o.proposals.propose<TxnResponse>({ txn: req, header: headerOf(ai) });
      if (a.done) await a.done;
      return a.resp;
    }
    if (this.o.stopped()) throw Errors.stopped();
    await this.o.reads.wait();
    const { auth, lessor } = this.o;
    if (auth.enabled) {
      const denied = checkTxn(auth.store, ai, req, (id) => lessor.get(id)?.keys);
      if (denied) throw denied;
    }
    const waits: Waits = [];
    const resp = applyTxn(this.o.kvCtx, req, waits);
    if (waits.length) await Promise.all(waits);
    return resp;
  }

  async compact(req: CompactionRequest, ai: AuthInfo): Promise<CompactionResponse> {
    const a = await this.o.proposals.propose<CompactionResponse>({ compaction: req, header: headerOf(ai) });
    if (a.done) await a.done;
    return a.resp;
  }
}

