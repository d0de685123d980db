// npm run bench:profile [-- --members 3 --workload put --seconds 10 --store postgres|pglite]
// Runs one workload against edgecd with V8's CPU profiler on every member and prints, per member,
// the functions that took the most self time (profiles stay in the directory it names).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEdgecdTarget } from './targets.ts';
import { drive, preload, type Workload } from './workloads.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] }

function topSelf(file: string, n: number): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const self = new Map<string, number>();
  let total = 0;
  for (const node of prof.nodes) {
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const name = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(name, (self.get(name) ?? 0) + node.hitCount);
    total += node.hitCount;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)}%  ${name}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-prof-'));
  process.env.EDGECD_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${dir}`;
  const t = await startEdgecdTarget(Number(arg('members', '3')), arg('store', 'postgres') as 'postgres' | 'pglite');
  delete process.env.EDGECD_NODE_ARGS;
  try {
    await preload(t.urls[0]);
    const r = await drive(t.urls, arg('workload', 'put') as Workload, Number(arg('clients', '64')), Number(arg('seconds', '10')));
    console.log(`${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms`);
  } finally {
    // A profile is written only on a clean exit.
    for (const pid of t.pids()) process.kill(pid, 'SIGTERM');
    for (const pid of t.pids()) {
      for (let i = 0; i < 200; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await t.stop();
  }
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    console.log(`\n${f}`);
    for (const line of topSelf(path.join(dir, f), Number(arg('top', '25')))) console.log(line);
  }
  console.log(`\nprofiles in ${dir}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
