import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEdgecd, type EdgecdProcess } from '../helpers/server.ts';

/**
 * SIGKILL under concurrent writes: every write that was answered must be there after restart,
 * on the machine's Postgres and on the embedded PGlite. Keys are unique per write so a missing
 * one cannot hide behind a later value.
 */

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

async function post(url: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url + path, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

/** Writers put until told to stop; returns what was acknowledged (key -> revision). */
function writeLoad(url: string, writers: number, round: number) {
  const acked = new Map<string, number>();
  let stop = false;
  let attempted = 0;
  const loops = Array.from({ length: writers }, async (_, w) => {
    for (let n = 0; !stop; n++) {
      const key = `crash/${round}/${w}/${n}`;
      attempted++;
      try {
        const r = await post(url, '/v3/kv/put', { key: b64(key), value: b64(`v${n}`) });
        if (r.status === 200) acked.set(key, Number(r.json.header.revision));
      } catch {
        return; // the process died: this write's outcome is unknown
      }
    }
  });
  return {
    acked,
    attempted: () => attempted,
    async finish() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

async function crashRounds(store: 'postgres' | 'pglite', rounds: number, args: string[] = []): Promise<void> {
  let server: EdgecdProcess = await startEdgecd({ store, args });
  const allAcked = new Map<string, number>();
  try {
    for (let round = 0; round < rounds; round++) {
      const load = writeLoad(server.url, 16, round);
      await new Promise((r) => setTimeout(r, 1500));
      await server.kill();
      await load.finish();
      for (const [k, v] of load.acked) allAcked.set(k, v);
      assert.ok(load.acked.size > 20, `round ${round}: only ${load.acked.size} writes were acknowledged`);
      server = await server.restart();
      const r = await post(server.url, '/v3/kv/range', { key: b64('crash/'), range_end: b64('crash0') });
      assert.equal(r.status, 200);
      const found = new Map<string, number>((r.json.kvs ?? []).map((kv: any) => [unb64(kv.key), Number(kv.mod_revision)]));
      const lost = [...allAcked].filter(([k, rev]) => found.get(k) !== rev);
      console.log(`${store} round ${round}: ${load.attempted()} writes made, ${load.acked.size} acknowledged, ${found.size} found after restart, ${lost.length} lost`);
      assert.deepEqual(lost, [], `${store}: acknowledged writes lost after SIGKILL`);
      const maxAcked = Math.max(...allAcked.values());
      assert.ok(Number(r.json.header.revision) >= maxAcked, 'revision went backwards after restart');
    }
  } finally {
    await server.stop();
  }
}

test('no acknowledged write is lost to SIGKILL (Postgres)', { timeout: 180_000 }, () => crashRounds('postgres', 3));
test('no acknowledged write is lost to SIGKILL (Postgres, two log writes in flight)', { timeout: 180_000 }, () =>
  crashRounds('postgres', 2, ['--experimental-log-writes', '2']));
test('no acknowledged write is lost to SIGKILL (embedded PGlite)', { timeout: 300_000 }, () => crashRounds('pglite', 2));
