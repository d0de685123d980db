// Flow control: a bounded window of MsgApp messages sent to a follower and
// not yet acknowledged. Each slot remembers the last index of the message and
// its size in bytes.

export class Inflights {
  private indexes: number[] = [];
  private sizes: number[] = [];
  private start = 0; // position of the oldest in-flight message in the ring
  private count = 0;
  private bytes = 0;

  constructor(
    readonly size: number,
    readonly maxBytes = Infinity,
  ) {}

  clone(): Inflights {
    const c = new Inflights(this.size, this.maxBytes);
    for (let i = 0; i < this.count; i++) {
      const p = (this.start + i) % this.size;
      c.add(this.indexes[p], this.sizes[p]);
    }
    return c;
  }

  /** Records a message whose last entry is `index`. Indexes must increase. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('cannot add into a full inflights');
    const p = (this.start + this.count) % this.size;
    this.indexes[p] = index;
    this.sizes[p] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every message whose last index is <= to. */
  freeLE(to: number): void {
    if (this.count === 0 || to < this.indexes[this.start]) return;
    let i = 0;
    let p = this.start;
    let freedBytes = 0;
    for (; i < this.count; i++) {
      if (to < this.indexes[p]) break;
      freedBytes += this.sizes[p];
      p = (p + 1) % this.size;
    }
    this.count -= i;
    this.bytes -= freedBytes;
    this.start = this.count === 0 ? 0 : p;
  }

  /** Frees the oldest message (used when a heartbeat response shows the peer is alive). */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.freeLE(this.indexes[this.start]);
  }

  full(): boolean {
    return this.count === this.size || this.bytes >= this.maxBytes;
  }

  get length(): number {
    return this.count;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
