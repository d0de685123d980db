/**
 * A deliberately simple model of etcd's revisioned key space: the whole state after every
 * revision, kept as a map. Random operation sequences run against it and the real store.
 */

export interface ModelKv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

export type Op =
  | { kind: 'put'; key: string; value: string; prevKv: boolean }
  | { kind: 'delete'; key: string; end?: string; prevKv: boolean }
  | { kind: 'txn'; cmpKey: string; target: 'VERSION' | 'VALUE' | 'MOD' | 'CREATE'; result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL'; operand: number | string; success: TxnWrite[]; failure: TxnWrite[] }
  | { kind: 'compact'; rev: number }
  | { kind: 'range'; key: string; end?: string; rev: number; limit: number };

export type TxnWrite = { kind: 'put'; key: string; value: string } | { kind: 'delete'; key: string };

export type Outcome =
  | { error: 'compacted' | 'future' }
  | { rev: number; kvs?: ModelKv[]; count?: number; more?: boolean; deleted?: number; prev?: ModelKv[]; succeeded?: boolean };

/** end: undefined = the key alone, '' = every key from key on, else [key, end). */
export const inRange = (k: string, key: string, end: string | undefined) =>
  end === undefined ? k === key : k >= key && (end === '' || k < end);

export class Model {
  /** states[r] = the key space right after revision r. */
  states: Map<string, ModelKv>[] = [new Map(), new Map()];
  compactRev = -1;

  get rev(): number {
    return this.states.length - 1;
  }

  private current(): Map<string, ModelKv> {
    return this.states[this.rev];
  }

  private commit(next: Map<string, ModelKv>): void {
    this.states.push(next);
  }

  private put(next: Map<string, ModelKv>, key: string, value: string, rev: number): void {
    const prev = next.get(key);
    next.set(key, { key, value, createRevision: prev ? prev.createRevision : rev, modRevision: rev, version: (prev?.version ?? 0) + 1 });
  }

  keysIn(state: Map<string, ModelKv>, key: string, end: string | undefined): ModelKv[] {
    return [...state.values()].filter((kv) => inRange(kv.key, key, end)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  apply(op: Op): Outcome {
    const rev = this.rev;
    switch (op.kind) {
      case 'put': {
        const prev = this.current().get(op.key);
        const next = new Map(this.current());
        this.put(next, op.key, op.value, rev + 1);
        this.commit(next);
        return { rev: rev + 1, prev: op.prevKv && prev ? [prev] : [] };
      }
      case 'delete': {
        const gone = this.keysIn(this.current(), op.key, op.end);
        if (gone.length === 0) return { rev, deleted: 0, prev: [] };
        const next = new Map(this.current());
        for (const kv of gone) next.delete(kv.key);
        this.commit(next);
        return { rev: rev + 1, deleted: gone.length, prev: op.prevKv ? gone : [] };
      }
      case 'txn': {
        const kv = this.current().get(op.cmpKey);
        let ok: boolean;
        if (op.target === 'VALUE' && !kv) ok = false;
        else {
          const have = op.target === 'VALUE' ? (kv?.value ?? '') : op.target === 'VERSION' ? (kv?.version ?? 0) : op.target === 'MOD' ? (kv?.modRevision ?? 0) : (kv?.createRevision ?? 0);
          const c = have < op.operand ? -1 : have > op.operand ? 1 : 0;
          ok = op.result === 'EQUAL' ? c === 0 : op.result === 'NOT_EQUAL' ? c !== 0 : op.result === 'GREATER' ? c > 0 : c < 0;
        }
        const writes = ok ? op.success : op.failure;
        const next = new Map(this.current());
        let changed = false;
        for (const w of writes) {
          if (w.kind === 'put') {
            this.put(next, w.key, w.value, rev + 1);
            changed = true;
          } else if (next.delete(w.key)) changed = true;
        }
        if (changed) this.commit(next);
        return { rev: changed ? rev + 1 : rev, succeeded: ok };
      }
      case 'compact': {
        if (op.rev <= this.compactRev) return { error: 'compacted' };
        if (op.rev > rev) return { error: 'future' };
        this.compactRev = op.rev;
        return { rev };
      }
      case 'range': {
        if (op.rev > rev) return { error: 'future' };
        const at = op.rev <= 0 ? rev : op.rev;
        if (at < this.compactRev) return { error: 'compacted' };
        const all = this.keysIn(this.states[at], op.key, op.end);
        const kvs = op.limit > 0 ? all.slice(0, op.limit) : all;
        return { rev, kvs, count: all.length, more: op.limit > 0 && all.length > op.limit };
      }
    }
  }
}
