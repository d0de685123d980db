// npm run bench [-- --seconds 5 --rounds 1 --systems edgecd,edgecd-embedded,edgecd-auth,edgecd-metrics,edgecd-proxy,etcd,antietcd --members 1,3 --workloads put,range,fanout --load wrk|autocannon]
// edgecd-proxy: the edge proxy in front of one member (bench/proxy-fanout.ts): SSE fan-out through it and
// on the member (--proxy-subscribers 2000 --proxy-puts 100), and serializable reads from its cache (--proxy-clients 64, --proxy-seconds 3 per measurement).
// edgecd-embedded: edgecd on its embedded store (PGlite in each member's process), as `npm start` runs it.
// edgecd-auth: edgecd with auth on, every request carrying a user's token (JWT, edgecd's default).
// edgecd-metrics: edgecd with every member's /metrics scraped once a second.
// Starts each system as 1 and as 3 members on loopback and drives them all through the same JSON
// gateway routes with the same load generator; prints a table and writes bench/results/latest.{json,svg}.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { barChart } from './chart.ts';
import { fanout } from './fanout.ts';
import { proxyBench, proxyMarkdown, type ProxyBench } from './proxy-fanout.ts';
import { cpuSeconds, postgresPids, postgresPidsFor, rssMiB } from './procs.ts';
import { haveEtcd, startAntietcdTarget, startEdgecdAuthTarget, startEdgecdMetricsTarget, startEdgecdTarget, startEtcdTarget, type Target } from './targets.ts';
import { defaultLoadGenerator, drive, preload, WORKLOADS, type LoadGenerator, type Workload } from './workloads.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const SECONDS = Number(arg('seconds', '5'));
const ROUNDS = Number(arg('rounds', '1'));
const SYSTEMS = arg('systems', 'edgecd,edgecd-embedded,edgecd-proxy,etcd,antietcd').split(',');
const PROXY_SUBSCRIBERS = Number(arg('proxy-subscribers', '2000'));
const PROXY_PUTS = Number(arg('proxy-puts', '100'));
const PROXY_CLIENTS = Number(arg('proxy-clients', '64'));
const PROXY_SECONDS = Number(arg('proxy-seconds', '3'));
const MEMBERS = arg('members', '1,3').split(',').map(Number);
const CLIENTS = arg('clients', '1,64').split(',').map(Number);
const ONLY = arg('workloads', '').split(',').filter(Boolean);
const LOAD = arg('load', defaultLoadGenerator()) as LoadGenerator;
const wanted = (w: string) => ONLY.length === 0 || ONLY.includes(w);
/** Where results go: a partial run (--workloads, --systems, --members) must not replace the full one the README shows. */
const PARTIAL = ONLY.length > 0 || ['--systems', '--members'].some((f) => process.argv.includes(f));
const OUT = arg('out', PARTIAL ? 'bench/results/partial' : 'bench/results/latest');

interface Row {
  system: string;
  members: number;
  workload: Workload | 'watch-fanout';
  clients: number;
  rps: number;
  p50: number;
  p99: number;
  cpuCores: number;
  rssMiB: number;
  errors: number;
}

const rows: Row[] = [];

/** CPU seconds the whole system (every member, its databases) spent per 1,000 requests answered. */
const cpuPerK = (r: { cpuCores: number; rps: number }) => (r.rps > 0 ? (r.cpuCores / r.rps) * 1000 : 0);
const notes: string[] = [];

async function measure(t: Target, fn: () => Promise<{ rps: number; p50: number; p99: number; errors: number }>): Promise<Omit<Row, 'system' | 'members' | 'workload' | 'clients'>> {
  const pg = !t.usesPostgres ? [] : t.databaseUrls ? await postgresPidsFor(t.databaseUrls()) : postgresPids();
  const pids = [...t.pids(), ...pg];
  const before = new Map(pids.map((p) => [p, cpuSeconds(p)]));
  const t0 = Date.now();
  const r = await fn();
  const secs = (Date.now() - t0) / 1000;
  // Per process, and only those alive throughout: a process that ended reads as 0.
  let used = 0;
  for (const [p, b] of before) {
    const a = cpuSeconds(p);
    if (a >= b) used += a - b;
  }
  const cpu = used / secs;
  const rss = t.pids().reduce((s, p) => s + rssMiB(p), 0);
  return { ...r, cpuCores: cpu, rssMiB: rss };
}

async function benchTarget(start: () => Promise<Target>): Promise<void> {
  const t = await start();
  const label = `${t.system} x${t.members}`;
  try {
    await preload(t.urls[0], await t.headers?.());
    for (const w of WORKLOADS.filter(wanted)) {
      for (const clients of CLIENTS) {
        await drive(t.urls, w, clients, 1, LOAD, await t.headers?.()); // warm-up
        let best: Omit<Row, 'system' | 'members' | 'workload' | 'clients'> | undefined;
        for (let r = 0; r < ROUNDS; r++) {
          const headers = await t.headers?.();
          const m = await measure(t, () => drive(t.urls, w, clients, SECONDS, LOAD, headers));
          if (!best || m.rps > best.rps) best = m;
        }
        rows.push({ system: t.system, members: t.members, workload: w, clients, ...best! });
        console.log(`${label} ${w} c=${clients}: ${best!.rps.toFixed(0)} req/s, p50 ${best!.p50} ms, p99 ${best!.p99} ms, cpu ${best!.cpuCores.toFixed(2)} (${cpuPerK(best!).toFixed(2)} s per 1,000), rss ${best!.rssMiB.toFixed(0)} MiB, errors ${best!.errors}`);
      }
    }
    if (t.system !== 'antietcd' && t.system !== 'edgecd-auth' && t.system !== 'edgecd-metrics' && wanted('fanout')) {
      const m = await measure(t, async () => {
        const f = await fanout(t.urls, SECONDS);
        return { rps: f.eventsPerSec, p50: 0, p99: 0, errors: 0 };
      });
      rows.push({ system: t.system, members: t.members, workload: 'watch-fanout', clients: 1000, ...m });
      console.log(`${label} watch fan-out (1,000 watchers): ${m.rps.toFixed(0)} events/s`);
    }
  } finally {
    await t.stop();
  }
}

const TARGETS: Record<string, Partial<Record<Workload | 'watch-fanout', number>>> = {
  '1': { put: 1.5, range: 2.0, 'range-serializable': 3.0 },
  '3': { put: 1.5, range: 2.0, 'range-serializable': 3.0 },
};

async function main(): Promise<void> {
  notes.push(
    LOAD === 'wrk'
      ? 'Load generator: wrk (one thread per member URL, bench/wrk.lua), on the same cores.'
      : 'Load generator: autocannon, on the same cores (wrk is not installed: apt-get install -y wrk; it takes far less CPU per request).',
  );
  console.log(`note: ${notes[0]}`);
  if (SYSTEMS.includes('etcd') && !haveEtcd()) {
    notes.push('etcd is not installed (apt-get install -y etcd-server): skipped, no ratios.');
    console.log(`note: ${notes[notes.length - 1]}`);
  }
  for (const members of MEMBERS) {
    if (SYSTEMS.includes('edgecd')) await benchTarget(() => startEdgecdTarget(members));
    if (SYSTEMS.includes('edgecd-embedded')) await benchTarget(() => startEdgecdTarget(members, 'pglite'));
    if (SYSTEMS.includes('edgecd-auth')) await benchTarget(() => startEdgecdAuthTarget(members));
    if (SYSTEMS.includes('edgecd-metrics')) await benchTarget(() => startEdgecdMetricsTarget(members));
    if (SYSTEMS.includes('etcd') && haveEtcd()) await benchTarget(() => startEtcdTarget(members));
    if (SYSTEMS.includes('antietcd')) await benchTarget(() => startAntietcdTarget(members));
  }
  let proxy: ProxyBench = { fanout: [], reads: [] };
  if (SYSTEMS.includes('edgecd-proxy') && (wanted('fanout') || wanted('range-serializable'))) {
    proxy = await proxyBench({ subscribers: PROXY_SUBSCRIBERS, puts: PROXY_PUTS, clients: PROXY_CLIENTS, seconds: PROXY_SECONDS, rounds: ROUNDS, load: LOAD, fanout: wanted('fanout'), reads: wanted('range-serializable') });
  }
  const proxySection = proxy.fanout.length || proxy.reads.length ? proxyMarkdown(proxy) : '';
  const etcdOf = (r: Row) => rows.find((e) => e.system === 'etcd' && e.members === r.members && e.workload === r.workload && e.clients === r.clients);
  const table = ['| system | members | workload | clients | req/s | p50 ms | p99 ms | CPU (cores) | CPU s per 1k | RSS MiB | vs etcd | CPU per 1k vs etcd |', '|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const e = etcdOf(r);
    table.push(
      `| ${r.system} | ${r.members} | ${r.workload} | ${r.clients} | ${r.rps.toFixed(0)} | ${r.p50 || '-'} | ${r.p99 || '-'} | ${r.cpuCores.toFixed(2)} | ${cpuPerK(r).toFixed(3)} | ${r.rssMiB.toFixed(0)} | ${e ? (r.rps / e.rps).toFixed(2) : '-'} | ${e && cpuPerK(e) > 0 ? (cpuPerK(r) / cpuPerK(e)).toFixed(2) : '-'} |`,
    );
  }
  console.log(table.join('\n'));
  if (proxySection) console.log(`\n${proxySection}`);
  const machine = `${os.cpus().length} cores ${os.cpus()[0]?.model ?? ''}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`${OUT}.json`, JSON.stringify({ date: new Date().toISOString(), machine, load: LOAD, seconds: SECONDS, rounds: ROUNDS, notes, rows, proxy }, null, 2));
  writeFileSync(`${OUT}.md`, `Machine: ${machine}; ${SECONDS} s per measurement, best of ${ROUNDS}.\n${notes.map((n) => `\n${n}`).join('')}\n\n${table.join('\n')}\n${proxySection ? `\n${proxySection}` : ''}`);
  const labels: string[] = [];
  const ed: (number | undefined)[] = [];
  const em: (number | undefined)[] = [];
  const ae: (number | undefined)[] = [];
  const tg: (number | undefined)[] = [];
  for (const members of MEMBERS) {
    for (const w of [...WORKLOADS, 'watch-fanout' as const]) {
      const clients = w === 'watch-fanout' ? 1000 : Math.max(...CLIENTS);
      const e = rows.find((r) => r.system === 'etcd' && r.members === members && r.workload === w && r.clients === clients);
      if (!e) continue;
      // A system that answered errors did not do the work: no bar for it.
      const pick = (s: string) => rows.find((r) => r.system === s && r.members === members && r.workload === w && r.clients === clients && r.errors === 0);
      labels.push(`${w} x${members}`);
      ed.push(pick('edgecd') ? pick('edgecd')!.rps / e.rps : undefined);
      em.push(pick('edgecd-embedded') ? pick('edgecd-embedded')!.rps / e.rps : undefined);
      ae.push(pick('antietcd') ? pick('antietcd')!.rps / e.rps : undefined);
      tg.push(TARGETS[String(members)]?.[w]);
    }
  }
  if (labels.length) {
    const svg = barChart(`Throughput relative to etcd 3.4 (${Math.max(...CLIENTS)} clients; watch: 1,000 watchers)`, labels, [
      { name: 'edgecd (Postgres)', color: '#1f77b4', values: ed },
      ...(em.some((v) => v !== undefined) ? [{ name: 'edgecd (embedded)', color: '#2ca02c', values: em }] : []),
      { name: 'antietcd (in memory)', color: '#aaaaaa', values: ae },
    ], tg);
    writeFileSync(`${OUT}.svg`, svg);
  }
  console.log(`wrote ${OUT}.{json,md,svg}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
