import { checkCoordination, emptyCoordStats, type CoordStats } from './check-coord.ts';
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
  /** Locks and elections (zero when those workloads did not run). */
  coord: CoordStats;
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
  let coord = emptyCoordStats();
  if (ref) {
    anomalies.push(...checkRevisions(history, ref));
    const w = checkWatchers(history.watchers, ref);
    anomalies.push(...w.anomalies);
    watchEvents = w.events;
    const c = checkCoordination(history, ref);
    anomalies.push(...c.anomalies);
    coord = c.stats;
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
    coord,
    ms: performance.now() - t0,
  };
}

export function formatAnomaly(a: Anomaly): string {
  return [`[${a.checker}] ${a.message}`, ...(a.details ?? []).map((d) => `    ${d}`)].join('\n');
}
