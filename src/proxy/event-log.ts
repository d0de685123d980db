import type { LogBatch } from './batch.ts';

/**
 * Recent events of each watched range, shared by every proxy (Redis in production): a subscriber
 * whose proxy died resumes through another one from its Last-Event-ID. Best effort by design: a
 * log that is down or missing entries never makes an answer wrong, because readers take only a
 * gap-free chain (see LogBatch.from) and fetch the rest from the cluster.
 */
export interface EventLog {
  /** Adds a batch (fire and forget: a failure only leaves a gap that readers will see). */
  append(range: string, b: LogBatch): void;
  /**
   * Stored batches after revision `after`, in order, as far as they chain without a gap from `after`;
   * `through`: every event of the range up to it is in them. Undefined when the log cannot answer.
   */
  read(range: string, after: number): Promise<{ batches: LogBatch[]; through: number } | undefined>;
  close(): Promise<void>;
}

/** The batches of `stored` (ascending) that chain from `after` without a gap, and how far they reach. */
export function chainFrom(stored: LogBatch[], after: number): { batches: LogBatch[]; through: number } {
  const batches: LogBatch[] = [];
  let through = after;
  for (const b of stored) {
    if (b.rev <= through) continue;
    // b says the range had no event in (b.from, b.minRev): it continues the chain if that covers (through, b.minRev).
    if (b.from > through) break;
    batches.push(b);
    through = b.rev;
  }
  return { batches, through };
}

/** No shared log: resumes come from the proxy's memory or the cluster. */
export const NO_EVENT_LOG: EventLog = {
  append() {},
  read: async () => undefined,
  close: async () => {},
};
