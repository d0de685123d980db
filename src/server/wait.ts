import type { Clock } from './clock.ts';

type Pending<T> = { resolve: (v: T) => void; reject: (e: unknown) => void; timer: unknown };

/**
 * Callers waiting for something identified by an id to happen (a proposal to apply), each with a
 * deadline: etcd's pkg/wait. Whoever sees the event triggers the id; nothing else knows the caller.
 */
export class Wait<T> {
  private readonly pending = new Map<string, Pending<T>>();

  constructor(private readonly clock: Clock) {}

  /** Waits for id; after ms, rejects with onTimeout() and forgets it. */
  register(id: string, ms: number, onTimeout: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.pending.delete(id)) reject(onTimeout());
      }, ms);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  has(id: string): boolean {
    return this.pending.has(id);
  }

  /** Settles id's waiter with a value; false when nobody waits for it (another member's proposal). */
  trigger(id: string, value: T): boolean {
    const p = this.take(id);
    p?.resolve(value);
    return !!p;
  }

  fail(id: string, err: unknown): boolean {
    const p = this.take(id);
    p?.reject(err);
    return !!p;
  }

  failAll(err: () => unknown): void {
    for (const id of [...this.pending.keys()]) this.fail(id, err());
  }

  get size(): number {
    return this.pending.size;
  }

  private take(id: string): Pending<T> | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    this.clock.clearTimeout(p.timer);
    return p;
  }
}
