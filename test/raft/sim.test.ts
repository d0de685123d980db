// The seeded simulation in CI: at least 2,000 seeds over 3, 5 and 7 members.
// Each seed is a full run (chaos, then heal and convergence) with every
// invariant checked after every event. A failing seed prints the command that
// replays it exactly. More seeds: npm run sim -- --seeds N
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeed } from './sim/world.ts';

const SEEDS_PER_SIZE = Number(process.env.RAFT_SIM_SEEDS_PER_SIZE ?? 700);
const FIRST = Number(process.env.RAFT_SIM_FIRST_SEED ?? 1);

for (const members of [3, 5, 7]) {
  test(`simulation: ${SEEDS_PER_SIZE} seeds with ${members} members keep every invariant and converge`, (t) => {
    const from = FIRST + members * 1_000_000;
    t.diagnostic(`seeds ${from}..${from + SEEDS_PER_SIZE - 1}`);
    const failures: string[] = [];
    const t0 = performance.now();
    let events = 0;
    let coalesced = 0;
    for (let seed = from; seed < from + SEEDS_PER_SIZE; seed++) {
      const r = runSeed(seed, members);
      events += r.stats.events;
      coalesced += r.stats.coalesced;
      if (!r.ok) {
        failures.push(`seed ${seed}: ${r.error}\n  params: ${r.params}\n  replay: npm run sim -- --seed ${seed} --members ${members}`);
        if (failures.length >= 5) break;
      }
    }
    const secs = (performance.now() - t0) / 1000;
    t.diagnostic(`${SEEDS_PER_SIZE} seeds in ${secs.toFixed(1)} s, ${events} events, ${coalesced} messages coalesced by the transport's Outbox`);
    assert.deepEqual(failures, [], failures.join('\n'));
    // Half the seeds send through an Outbox: it must have had something to do, or it was not tested.
    assert.ok(coalesced > 1000, `only ${coalesced} messages coalesced`);
  });
}
