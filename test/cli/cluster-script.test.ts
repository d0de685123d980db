import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { b64, post } from '../helpers/cluster.ts';
import { freePort } from '../helpers/server.ts';

test('npm run cluster starts three members and two proxies sharing Redis, and stops them all on SIGTERM', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-npm-cluster-'));
  // Eight different free ports (a port just freed may be handed out again).
  const ports = new Set<number>();
  while (ports.size < 8) ports.add(await freePort());
  const [c1, c2, c3, p1, p2, p3, x1, x2] = [...ports];
  const client = [c1, c2, c3];
  const peer = [p1, p2, p3];
  const proxy = [x1, x2];
  // Its own process group: a terminal's Ctrl-C reaches npm, tsx and every member alike.
  const proc = spawn('npm', ['run', 'cluster', '--', '--dir', dir, '--client-ports', client.join(','), '--peer-ports', peer.join(','), '--proxy-ports', proxy.join(',')], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  try {
    const deadline = Date.now() + 150_000;
    while (!/cluster: ready/.test(out)) {
      assert.ok(Date.now() < deadline && proc.exitCode === null, `not ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const urls = client.map((p) => `http://127.0.0.1:${p}`);
    assert.equal((await post(urls[0], '/v3/kv/put', { key: b64('hello'), value: b64('world') })).status, 200);
    const read = await post(urls[2], '/v3/kv/range', { key: b64('hello') });
    assert.equal(Buffer.from(read.json.kvs[0].value, 'base64').toString(), 'world', 'a linearizable read on another member sees it');
    const list = await post(urls[1], '/v3/cluster/member/list', {});
    assert.deepEqual(list.json.members.map((m: { name: string }) => m.name).sort(), ['m1', 'm2', 'm3']);
    assert.match(out, /m2 \| /, 'output is prefixed with the member');
    // Through the edge: a watch on one proxy sees a put made through the other.
    const sse = await fetch(`http://127.0.0.1:${proxy[1]}/v3/watch/sse?prefix=edge/&encoding=text`, { signal: AbortSignal.timeout(20_000) });
    const reader = sse.body!.getReader();
    let seen = '';
    const got = (async () => {
      while (!seen.includes('edge/x')) seen += Buffer.from((await reader.read()).value ?? []).toString();
    })();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await post(`http://127.0.0.1:${proxy[0]}`, '/v3/kv/put', { key: b64('edge/x'), value: b64('1') })).status, 200);
    await got;
    await reader.cancel();
  } finally {
    const exited = new Promise((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.once('exit', r)));
    process.kill(-proc.pid!, 'SIGTERM');
    await exited;
  }
  // Every member stopped: nothing answers on their ports any more.
  for (let i = 0; i < 100; i++) {
    const up = await Promise.all([...client, ...proxy].map((p) => fetch(`http://127.0.0.1:${p}/health`).then(() => true, () => false)));
    if (!up.some(Boolean)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const still = await Promise.all([...client, ...proxy].map((p) => fetch(`http://127.0.0.1:${p}/health`).then(() => p, () => undefined)));
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(still.filter(Boolean), [], 'members left running');
});
