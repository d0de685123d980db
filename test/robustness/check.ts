import { checkDurability, checkRevisions, referenceOf } from './check-history.ts';
import { checkLeases, type LeaseBounds } from './check-leases.ts';
import { checkRegisters, type Anomaly, type RegisterStats } from './check-registers.ts';
import { checkWatchers } from './check-watch.ts';
import type { History } from './history.ts';

export type { Anomaly };

export interface CheckReport {
  anomalies: Anomaly[];
  registers: RegisterStats;
  watchEvents: number;
  leaseProbes: number;
  historyEvents: number;
  ms: number;
}

export function defaultLeaseBounds(electionTimeoutMs: number): LeaseBounds {
  return { electionTimeoutMs, lateMs: 3000, earlyMarginMs: 250, unknownRenewalMs: 20_000, observeLagMs: 2000 };
}

/** Every checker over one history. Pure: the same history gives the same report. */
export function checkHistory(history: History, opts: { maxStepsPerKey?: number; leaseBounds?: LeaseBounds } = {}): CheckReport {
  const t0 = performance.now();
  const anomalies: Anomaly[] = [];
  const regs = checkRegisters(history, opts.maxStepsPerKey);
  anomalies.push(...regs.anomalies);
  const { ref, anomalies: agree } = referenceOf(history);
  anomalies.push(...agree);
  let watchEvents = 0;
  if (ref) {
    anomalies.push(...checkRevisions(history, ref));
    const w = checkWatchers(history.watchers, ref);
    anomalies.push(...w.anomalies);
    watchEvents = w.events;
  }
  anomalies.push(...checkDurability(history, ref));
  const leases = checkLeases(history, ref, opts.leaseBounds ?? defaultLeaseBounds(history.electionTimeoutMs));
  anomalies.push(...leases.anomalies);
  return {
    anomalies,
    registers: regs.stats,
    watchEvents,
    leaseProbes: leases.probes,
    historyEvents: ref?.events.length ?? 0,
    ms: performance.now() - t0,
  };
}

export function formatAnomaly(a: Anomaly): string {
  return [`[${a.checker}] ${a.message}`, ...(a.details ?? []).map((d) => `    ${d}`)].join('\n');
}
