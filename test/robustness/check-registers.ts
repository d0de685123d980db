import { checkLinearizable, type Model, type TimedOp } from './linearizability.ts';
import { LEASE_PREFIX, type History, type KvOp, type Value } from './history.ts';

/**
 * Linearizability of each key as a register, checked key by key (linearizability is local, and a
 * history touching one key at a time splits exactly). Values written are unique, and every
 * operation reports the value it found (put and delete with prev_kv, a failed compare-and-swap
 * reads the key), so the search is tightly constrained. Revisions are not used here at all.
 *
 * Operations whose outcome is unknown are handled as porcupine (and etcd's robustness tests) do:
 * a write whose value nobody ever read is dropped (had it happened unseen, leaving it out changes
 * no answer anybody got); a write whose value was read must have happened before the first
 * answer that showed it; an unknown delete may happen at any time after its call, or never.
 * Failed reads are dropped. Serializable reads are not linearizable by contract: they are checked
 * against the revision history instead (check-revisions.ts).
 */

export interface Anomaly {
  checker: 'linearizability' | 'revisions' | 'watch' | 'durability' | 'leases' | 'agreement' | 'harness' | 'auth' | 'locks' | 'elections';
  key?: string;
  message: string;
  details?: string[];
}

type RegKind = 'put' | 'delete' | 'cas' | 'get';

export interface RegOp {
  src: KvOp;
  kind: RegKind;
  /** Output known (the operation completed). */
  known: boolean;
  /** For projected range reads and lease expiries, what to print. */
  note?: string;
}

const show = (v: Value | undefined) => (v === undefined ? '?' : v === null ? '∅' : JSON.stringify(v));

export function describeOp(op: KvOp, note?: string): string {
  const who = op.client < 0 ? 'harness' : `c${op.client}`;
  const t = `[${op.call.toFixed(0)}..${op.ret === undefined ? '?' : op.ret.toFixed(0)}ms${op.rev ? ` rev ${op.rev}` : ''}]`;
  const known = op.ret !== undefined;
  let what: string;
  switch (op.kind) {
    case 'put':
      what = `put(${op.key}, ${show(op.value)}${op.lease ? ` lease ${op.lease}` : ''}) -> ${known ? `prev ${show(op.prev)}` : `unknown (${op.error ?? ''})`}`;
      break;
    case 'delete':
      what = `delete(${op.key}) -> ${known ? `prev ${show(op.prev)}` : `unknown (${op.error ?? ''})`}`;
      break;
    case 'cas':
      what = `cas(${op.key}, ${show(op.expect)} => ${show(op.value)}) -> ${known ? (op.ok ? `ok, prev ${show(op.prev)}` : `failed, read ${show(op.read)}`) : `unknown (${op.error ?? ''})`}`;
      break;
    case 'get':
    case 'sget':
      what = `${op.kind}(${op.key}) -> ${known ? show(op.read) : 'unknown'}`;
      break;
    default:
      what = `${op.kind}(${op.key}...) -> ${known ? `${Object.keys(op.kvs ?? {}).length} keys` : 'unknown'}`;
  }
  return `#${op.id} ${who}@m${op.member} ${what} ${t}${note ? ` (${note})` : ''}`;
}

export const registerModel: Model<Value, RegOp> = {
  init: () => null,
  key: (s) => (s === null ? '\u0000' : s),
  step(s, o) {
    const op = o.src;
    switch (o.kind) {
      case 'put':
        return { ok: !o.known || op.prev === s, next: op.value! };
      case 'delete':
        return { ok: !o.known || op.prev === s, next: null };
      case 'cas':
        if (s === op.expect) return { ok: !o.known || (op.ok === true && op.prev === s), next: op.value! };
        return { ok: !o.known || (op.ok === false && op.read === s), next: s };
      case 'get':
        return { ok: o.note?.startsWith('range') ? rangeValue(op, o) === s : op.read === s, next: s };
    }
  },
  describe: (o) => describeOp(o.src, o.note),
};

function rangeValue(op: KvOp, o: RegOp): Value {
  const key = o.note!.slice('range '.length);
  return op.kvs?.[key]?.value ?? null;
}

export interface RegisterStats {
  keys: number;
  checked: number;
  droppedUnknownWrites: number;
  unknownKept: number;
  steps: number;
  inconclusive: string[];
}

/** The register operations on one key, ready for the search (see the file comment). */
export function registerOps(history: History, key: string): { ops: TimedOp<RegOp>[]; dropped: number; unknownKept: number } {
  const mine: RegOp[] = [];
  for (const op of history.ops) {
    if ((op.kind === 'range' || op.kind === 'srange') && op.kvs) {
      if (op.kind === 'range' && op.ret !== undefined && key.startsWith(op.key)) mine.push({ src: op, kind: 'get', known: true, note: `range ${key}` });
      continue;
    }
    if (op.key !== key) continue;
    if (op.kind === 'sget' || op.kind === 'srange' || op.kind === 'range') continue;
    if (op.kind === 'get' && op.ret === undefined) continue;
    mine.push({ src: op, kind: op.kind as RegKind, known: op.ret !== undefined });
  }
  // When was each value first shown by a completed operation's answer?
  const firstSeen = new Map<string, number>();
  const mentioned = new Set<string>();
  const saw = (v: Value | undefined, at: number) => {
    if (v === null || v === undefined) return;
    mentioned.add(v);
    const t = firstSeen.get(v);
    if (t === undefined || at < t) firstSeen.set(v, at);
  };
  for (const o of mine) {
    const op = o.src;
    if (op.kind === 'cas' && op.expect !== null && op.expect !== undefined) mentioned.add(op.expect);
    if (!o.known) continue;
    saw(op.prev, op.ret!);
    if (o.note) saw(rangeValue(op, o), op.ret!);
    else saw(op.read, op.ret!);
  }
  const ops: TimedOp<RegOp>[] = [];
  let dropped = 0;
  let unknownKept = 0;
  for (const o of mine) {
    const op = o.src;
    if (o.known) {
      ops.push({ call: op.call, ret: op.ret!, op: o });
      continue;
    }
    if (op.kind === 'put' || op.kind === 'cas') {
      if (!mentioned.has(op.value!)) {
        dropped++;
        continue;
      }
      unknownKept++;
      ops.push({ call: op.call, ret: firstSeen.get(op.value!) ?? Infinity, op: o });
    } else {
      unknownKept++;
      ops.push({ call: op.call, ret: Infinity, op: o });
    }
  }
  // A lease key is deleted by the lease's expiry, at an unknown time after the put.
  if (key.startsWith(LEASE_PREFIX)) {
    const put = mine.find((o) => o.kind === 'put');
    if (put) {
      const expiry: KvOp = { id: -1, client: -1, member: -1, kind: 'delete', key, call: put.src.ret ?? put.src.call };
      ops.push({ call: expiry.call, ret: Infinity, op: { src: expiry, kind: 'delete', known: false, note: 'lease expiry' } });
    }
  }
  return { ops, dropped, unknownKept };
}

export function registerKeys(history: History): string[] {
  const keys = new Set<string>(history.keys);
  for (const op of history.ops) if (op.kind !== 'range' && op.kind !== 'srange') keys.add(op.key);
  return [...keys].sort();
}

export function checkRegisters(history: History, maxStepsPerKey = 5_000_000): { anomalies: Anomaly[]; stats: RegisterStats } {
  const anomalies: Anomaly[] = [];
  const stats: RegisterStats = { keys: 0, checked: 0, droppedUnknownWrites: 0, unknownKept: 0, steps: 0, inconclusive: [] };
  // Unique values are what make the check sharp: refuse a history that breaks the rule.
  const writers = new Map<string, number>();
  for (const op of history.ops) {
    if ((op.kind === 'put' || op.kind === 'cas') && op.value !== undefined) {
      const other = writers.get(op.value);
      if (other !== undefined) anomalies.push({ checker: 'harness', key: op.key, message: `value ${op.value} written twice (ops #${other} and #${op.id})` });
      writers.set(op.value, op.id);
    }
  }
  for (const key of registerKeys(history)) {
    const { ops, dropped, unknownKept } = registerOps(history, key);
    stats.keys++;
    stats.checked += ops.length;
    stats.droppedUnknownWrites += dropped;
    stats.unknownKept += unknownKept;
    const r = checkLinearizable(registerModel, ops, maxStepsPerKey);
    stats.steps += r.steps;
    if (r.result === 'unknown') {
      stats.inconclusive.push(key);
      anomalies.push({ checker: 'linearizability', key, message: `${key}: search gave up after ${r.steps} steps (${ops.length} operations); inconclusive` });
    } else if (r.result === 'illegal') {
      const d = (o: TimedOp<RegOp>) => registerModel.describe!(o.op);
      anomalies.push({
        checker: 'linearizability',
        key,
        message: `${key}: not linearizable: no order of the operations explains ${d(r.blocked)}`,
        details: [
          'last operations of the longest legal order:',
          ...r.longest.slice(-8).map((o) => '  ' + d(o)),
          'concurrent with the blocked one:',
          ...r.concurrent.slice(0, 12).map((o) => '  ' + d(o)),
        ],
      });
    }
  }
  return { anomalies, stats };
}
