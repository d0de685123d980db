import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkHistory } from './check.ts';
import { runRobustness, summarize } from './driver.ts';
import type { History } from './history.ts';
import { FAULT_KINDS, type FaultKind } from './nemesis.ts';

/**
 * npm run robustness -- [--minutes N] [--seed S] [--members 3|5] [--faults kind,kind,...]
 *                       [--clients N] [--keys N] [--lease-clients N] [--lease-ttls MIN,MAX]
 *                       [--snapshot-count N] [--store postgres|pglite] [--auth] [--dir DIR]
 *                       [--lock-clients N] [--election-clients N] [--observers N]
 *                       [--proxies N] [--proxy-watchers N]
 * npm run robustness -- --check path/to/history.json    (check a saved history again)
 *
 * Starts a cluster on loopback (each member on its own database of the machine's Postgres, see
 * EDGECD_TEST_PG_URL), runs the clients and injects faults for the given minutes, then checks
 * the history and prints a summary: operations, faults injected, anomalies found. Exits 1 when
 * there is an anomaly. The same seed draws the same faults and the same operations (timing, and
 * so the interleaving, differs from run to run). --lock-clients and --election-clients add the
 * lock workload (lock, writes fenced by the lock key's create revision, unlock) and the election
 * workload (campaign, proclaim, resign; --observers streams on several members), both checked by
 * check-coord.ts; neither runs with --auth. --proxies N puts N edge proxies in front of the
 * cluster (Redis at 127.0.0.1:6379, reached through a relay the harness cuts): --proxy-watchers
 * (default 2 per proxy) SSE watchers follow every key through them, resuming with Last-Event-ID on
 * another proxy, under the kill-proxy and redis-down faults besides the rest.
 */

function args(): Record<string, string> {
  const out: Record<string, string> = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.includes('=') ? a.slice(2).split(/=(.*)/s) : [a.slice(2), argv[i + 1]?.startsWith('--') ? 'true' : argv[++i]];
    out[k] = v ?? 'true';
  }
  return out;
}

async function main(): Promise<void> {
  const a = args();
  if (a.help) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
    console.log(`fault kinds: ${FAULT_KINDS.join(', ')}`);
    return;
  }
  if (a.check) {
    const h = JSON.parse(readFileSync(a.check, 'utf8')) as History;
    const r = checkHistory(h);
    console.log(summarize(h, r, r.anomalies, 0));
    process.exit(r.anomalies.length ? 1 : 0);
  }
  const seed = Number(a.seed ?? process.env.EDGECD_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const minutes = Number(a.minutes ?? 5);
  const members = Number(a.members ?? 3);
  const schedule = a.faults ? (a.faults.split(',') as FaultKind[]) : undefined;
  for (const k of schedule ?? []) if (!FAULT_KINDS.includes(k)) throw new Error(`unknown fault kind ${k} (known: ${FAULT_KINDS.join(', ')})`);
  const runDir = a.dir ?? path.join(os.tmpdir(), `edgecd-robustness-${seed}-${Date.now()}`);
  const r = await runRobustness({
    seed,
    members,
    durationMs: minutes * 60_000,
    schedule,
    clients: a.clients ? Number(a.clients) : undefined,
    keys: a.keys ? Number(a.keys) : undefined,
    leaseClients: a['lease-clients'] ? Number(a['lease-clients']) : undefined,
    leaseTtls: a['lease-ttls'] ? (a['lease-ttls'].split(',').map(Number) as [number, number]) : undefined,
    snapshotCount: a['snapshot-count'] ? Number(a['snapshot-count']) : undefined,
    store: a.store === 'pglite' ? 'pglite' : undefined,
    auth: a.auth === 'true',
    lockClients: a['lock-clients'] ? Number(a['lock-clients']) : undefined,
    electionClients: a['election-clients'] ? Number(a['election-clients']) : undefined,
    observers: a.observers ? Number(a.observers) : undefined,
    proxies: a.proxies ? Number(a.proxies) : undefined,
    proxyWatchers: a['proxy-watchers'] ? Number(a['proxy-watchers']) : undefined,
    runDir,
  });
  console.log(r.summary);
  console.log(`history: ${r.historyFile} (check again with npm run robustness -- --check ${r.historyFile})`);
  process.exit(r.anomalies.length ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
