import type { LogBatch } from './batch.ts';

/**
 * The last batches of a feed, in memory: a subscriber that starts in the past, resumes or fell
 * behind replays from here when it reaches back far enough. Holds every event in (from, last
 * pushed]; old batches drop off the front once there are more than `size`.
 */
export class BatchRing {
  private ring: LogBatch[] = [];
  private head = 0;
  /** The ring has every event of the range after `from` (up to what its feed delivered). */
  from = 0;

  constructor(private readonly size: number) {}

  push(b: LogBatch): void {
    this.ring.push(b);
    if (this.ring.length - this.head > this.size) {
      this.from = this.ring[this.head].rev;
      this.head++;
      if (this.head > 1024) {
        this.ring = this.ring.slice(this.head);
        this.head = 0;
      }
    }
  }

  /** Index of the oldest batch held (indexes are valid until the next push). */
  get first(): number {
    return this.head;
  }

  /** One past the newest batch's index. */
  get end(): number {
    return this.ring.length;
  }

  at(i: number): LogBatch {
    return this.ring[i];
  }
}
