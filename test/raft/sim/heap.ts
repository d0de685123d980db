// A binary min-heap of simulation events ordered by (time, sequence number):
// events at the same time run in the order they were scheduled, so a run is a
// pure function of its seed.

export interface Timed {
  at: number;
  seq: number;
}

/** Omit distributed over a union type. */
export type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class EventQueue<T extends Timed> {
  private items: T[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  push(ev: DistOmit<T, 'seq'>): void {
    const e = { ...ev, seq: this.nextSeq++ } as T;
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Timed, b: Timed): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
