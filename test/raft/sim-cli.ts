// Long-mode simulation: npm run sim -- --seeds N [--seed S] [--members K] [--workers W] [--trace]
//   --seeds N    run N seeds (default 2000), starting at --seed (default 1)
//   --seed S     alone: replay exactly seed S (with a trace of its last events on failure)
//   --members K  3, 5 or 7 initial voters (default: chosen by each seed)
//   --workers W  worker threads (default: available cores)
// Prints progress, the time taken, and for every failing seed the command that replays it.
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { runSeed, type SimResult } from './sim/world.ts';

interface Job {
  from: number;
  to: number; // exclusive
  members?: number;
  trace: boolean;
}

function replayCommand(r: SimResult): string {
  return `npm run sim -- --seed ${r.seed} --members ${r.members}`;
}

function printFailure(r: SimResult): void {
  console.log(`\nFAIL seed=${r.seed} members=${r.members}: ${r.error}`);
  console.log(`  params: ${r.params}`);
  console.log(`  replay: ${replayCommand(r)}`);
}

if (!isMainThread) {
  const job = workerData as Job;
  for (let s = job.from; s < job.to; s++) {
    const r = runSeed(s, job.members, { trace: job.trace });
    parentPort!.postMessage({ seed: s, ok: r.ok, result: r.ok ? undefined : r, events: r.stats.events });
  }
} else {
  const args = process.argv.slice(2);
  const get = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seedArg = get('--seed');
  const seedsArg = get('--seeds');
  const members = get('--members') !== undefined ? Number(get('--members')) : undefined;
  const trace = args.includes('--trace');

  if (seedArg !== undefined && seedsArg === undefined) {
    // replay one seed exactly
    const r = runSeed(Number(seedArg), members, { trace: true });
    console.log(`seed=${r.seed} members=${r.members} ${r.ok ? 'ok' : 'FAIL'} ${JSON.stringify(r.stats)}`);
    console.log(`params: ${r.params}`);
    if (!r.ok) {
      if (trace || process.env.SIM_TRACE) for (const l of r.trace ?? []) console.log(`  ${l}`);
      printFailure(r);
      process.exitCode = 1;
    }
  } else {
    const first = seedArg !== undefined ? Number(seedArg) : 1;
    const n = seedsArg !== undefined ? Number(seedsArg) : 2000;
    const workers = Math.max(1, Math.min(Number(get('--workers') ?? availableParallelism()), n));
    console.log(`running ${n} seeds from ${first} on ${workers} workers${members ? ` with ${members} members` : ''}`);
    const t0 = performance.now();
    let done = 0;
    let events = 0;
    const failures: SimResult[] = [];
    let lastPrint = t0;
    const per = Math.ceil(n / workers);
    let running = 0;
    const finish = (): void => {
      const secs = (performance.now() - t0) / 1000;
      console.log(
        `\n${done} seeds in ${secs.toFixed(1)} s (${(done / secs).toFixed(1)} seeds/s, ${Math.round(events / secs)} events/s), ${failures.length} failing`,
      );
      for (const f of failures) console.log(`  failing: ${replayCommand(f)}`);
      process.exitCode = failures.length > 0 ? 1 : 0;
    };
    for (let w = 0; w < workers; w++) {
      const from = first + w * per;
      const to = Math.min(first + n, from + per);
      if (from >= to) continue;
      running++;
      // Workers load this same file through tsx's loader.
      const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const worker = new Worker(boot, { eval: true, workerData: { from, to, members, trace } satisfies Job });
      worker.on('message', (m: { seed: number; ok: boolean; result?: SimResult; events: number }) => {
        done++;
        events += m.events;
        if (!m.ok && m.result) {
          failures.push(m.result);
          printFailure(m.result);
        }
        const now = performance.now();
        if (now - lastPrint > 10000 || done === n) {
          lastPrint = now;
          const secs = (now - t0) / 1000;
          const eta = ((n - done) * secs) / done;
          console.log(`  ${done}/${n} seeds, ${failures.length} failing, ${secs.toFixed(0)} s elapsed, ~${eta.toFixed(0)} s left`);
        }
      });
      worker.on('error', (e) => {
        console.error(`worker failed: ${e.stack ?? e}`);
        process.exitCode = 1;
      });
      worker.on('exit', () => {
        if (--running === 0) finish();
      });
    }
  }
}
