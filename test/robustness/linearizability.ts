/**
 * A linearizability checker in the style of Wing & Gong, with Lowe's memoisation as porcupine
 * does it: the history becomes a list of call and return entries in time order; the search
 * linearizes some pending call whose operation the model accepts, backtracks on a return entry
 * whose call was not linearized yet, and never revisits a (set of linearized operations, state)
 * pair it has seen. An operation whose outcome is unknown returns at +Infinity: it may take
 * effect any time after its call, or (linearized after everything) never.
 *
 * Pure and synchronous; a step budget turns a pathological search into an "unknown" answer
 * instead of an endless one.
 */

export interface Model<S, O> {
  init(): S;
  /** Whether op may take effect in state s (its recorded output must match), and the state after. */
  step(s: S, op: O): { ok: boolean; next: S };
  /** A string that is equal for equal states. */
  key(s: S): string;
  describe?(op: O): string;
}

export interface TimedOp<O> {
  call: number;
  /** Infinity when the outcome is unknown. */
  ret: number;
  op: O;
}

export type LinResult<O> =
  | { result: 'ok'; steps: number }
  | { result: 'unknown'; steps: number }
  | {
      result: 'illegal';
      steps: number;
      /** The operation that no linearization of the longest legal prefix can place before it returns. */
      blocked: TimedOp<O>;
      /** The longest legal linearization found, oldest first (the last few are most telling). */
      longest: TimedOp<O>[];
      /** Operations concurrent with the blocked one. */
      concurrent: TimedOp<O>[];
    };

interface Entry {
  /** Index of the operation. */
  op: number;
  isCall: boolean;
  time: number;
  prev: Entry | null;
  next: Entry | null;
  /** For a call: its return entry. */
  match: Entry | null;
}

class BitSet {
  readonly words: Uint32Array;
  constructor(n: number, words?: Uint32Array) {
    this.words = words ?? new Uint32Array((n + 31) >>> 5);
  }
  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5] &= ~(1 << (i & 31));
  }
  clone(): BitSet {
    return new BitSet(0, this.words.slice());
  }
  hash(): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.words.length; i++) {
      h ^= this.words[i];
      h = Math.imul(h, 0x01000193);
    }
    return h >>> 0;
  }
  equals(o: BitSet): boolean {
    const a = this.words;
    const b = o.words;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
}

export function checkLinearizable<S, O>(model: Model<S, O>, ops: TimedOp<O>[], maxSteps = 5_000_000): LinResult<O> {
  const n = ops.length;
  if (n === 0) return { result: 'ok', steps: 0 };
  const raw: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const call: Entry = { op: i, isCall: true, time: ops[i].call, prev: null, next: null, match: null };
    const ret: Entry = { op: i, isCall: false, time: ops[i].ret, prev: null, next: null, match: null };
    call.match = ret;
    raw.push(call, ret);
  }
  // Time order; at equal times calls first, so touching operations count as concurrent (lenient).
  raw.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, time: -Infinity, prev: null, next: null, match: null };
  let last = head;
  for (const e of raw) {
    e.prev = last;
    last.next = e;
    last = e;
  }

  const lift = (e: Entry) => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Entry) => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  const cache = new Map<string, BitSet[]>();
  const remember = (lin: BitSet, state: S): boolean => {
    const k = `${lin.hash()}|${model.key(state)}`;
    const seen = cache.get(k);
    if (seen) {
      for (const b of seen) if (b.equals(lin)) return false;
      seen.push(lin);
    } else cache.set(k, [lin]);
    return true;
  };

  const linearized = new BitSet(n);
  const stack: { entry: Entry; state: S }[] = [];
  let state = model.init();
  let entry: Entry | null = head.next;
  let steps = 0;
  let best: { depth: number; blocked: number; order: number[] } = { depth: -1, blocked: -1, order: [] };

  while (head.next !== null) {
    if (++steps > maxSteps) return { result: 'unknown', steps };
    if (entry === null) throw new Error('linearizability: ran off the entry list');
    if (entry.isCall) {
      const { ok, next } = model.step(state, ops[entry.op].op);
      if (ok) {
        const lin = linearized.clone();
        lin.set(entry.op);
        if (remember(lin, next)) {
          stack.push({ entry, state });
          state = next;
          linearized.set(entry.op);
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // A return whose call is still pending: this ordering cannot go on. Backtrack.
      if (stack.length > best.depth) best = { depth: stack.length, blocked: entry.op, order: stack.map((s) => s.entry.op) };
      if (stack.length === 0) break;
      const top = stack.pop()!;
      state = top.state;
      linearized.clear(top.entry.op);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  if (head.next === null) return { result: 'ok', steps };
  const blocked = ops[best.blocked];
  const longest = best.order.map((i) => ops[i]);
  const concurrent = ops.filter((o) => o !== blocked && o.call <= blocked.ret && o.ret >= blocked.call);
  return { result: 'illegal', steps, blocked, longest, concurrent };
}
