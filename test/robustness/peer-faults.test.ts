import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PeerFaults } from '../../src/transport/peer-faults.ts';
import { PeerHttp } from '../../src/transport/peer-http.ts';

/** The test-only peer fault hook: rules by peer origin, re-read when the file changes, loss and delay. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeRules(file: string, rules: unknown[]): void {
  writeFileSync(file + '.tmp', JSON.stringify({ rules }));
  renameSync(file + '.tmp', file);
}

test('peer faults: rules match by origin, reload on change, drop raft messages silently and refuse other requests', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-faults-'));
  const file = path.join(dir, 'faults.json');
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => {
      res.statusCode = req.url === '/raft/messages' ? 204 : 200;
      res.end(req.url === '/raft/messages' ? undefined : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const faults = new PeerFaults(file);
  const peers = new PeerHttp({}, faults);
  try {
    // No file: no faults.
    assert.equal(faults.decide(`${origin}/raft/messages`), undefined);
    assert.equal((await peers.request('POST', `${origin}/raft/messages`, {}, '[]')).status, 204);
    assert.equal(hits, 1);

    // A partition towards this origin: messages vanish unnoticed, other requests are refused.
    writeRules(file, [{ to: 'http://127.0.0.1:1', drop: 1 }, { to: origin, drop: 1 }]);
    await sleep(80);
    assert.equal((await peers.request('POST', `${origin}/raft/messages`, {}, '[]')).status, 204);
    await assert.rejects(peers.request('GET', `${origin}/raft/members`, {}), /ECONNREFUSED/);
    assert.equal(hits, 1, 'nothing reached the peer');

    // Delay only: the request arrives, late.
    writeRules(file, [{ to: '*', delayMs: 150 }]);
    await sleep(80);
    const t0 = Date.now();
    assert.equal((await peers.request('GET', `${origin}/raft/members`, {})).body, 'ok');
    assert.ok(Date.now() - t0 >= 140, `delayed ${Date.now() - t0} ms`);
    assert.equal(hits, 2);

    // Healed.
    writeRules(file, []);
    await sleep(80);
    assert.equal(faults.decide(`${origin}/raft/messages`), undefined);
  } finally {
    peers.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('peer faults: a drop probability loses about that share of requests', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-faults-'));
  const file = path.join(dir, 'faults.json');
  writeRules(file, [{ to: '*', drop: 0.3 }]);
  let x = 1;
  const faults = new PeerFaults(file, () => ((x = (x * 48271) % 2147483647) / 2147483647));
  let dropped = 0;
  for (let i = 0; i < 10_000; i++) if (faults.decide('http://127.0.0.1:9/raft/messages')?.drop) dropped++;
  rmSync(dir, { recursive: true, force: true });
  assert.ok(dropped > 2700 && dropped < 3300, `${dropped} of 10000 dropped`);
});

test('peer faults: a message stream loses the lines a drop rule takes, delivers the rest in order, and reports the peer failing', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-faults-'));
  const file = path.join(dir, 'faults.json');
  const got: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    req.setEncoding('utf8');
    let rest = '';
    req.on('data', (c: string) => {
      rest += c;
      const lines = rest.split('\n');
      rest = lines.pop()!;
      got.push(...lines);
    });
    req.on('end', () => res.writeHead(204).end());
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const peers = new PeerHttp({}, new PeerFaults(file));
  const closed: (Error | undefined)[] = [];
  try {
    const s = peers.openStream(`${origin}/raft/stream`, {}, (err) => closed.push(err), () => {});
    assert.ok(s.write('a\n') && s.write('b\n'));
    await sleep(100);
    assert.deepEqual(got, ['a', 'b']);

    writeRules(file, [{ to: origin, drop: 1 }]);
    await sleep(80);
    s.write('lost\n');
    writeRules(file, []);
    await sleep(80);
    s.write('c\n');
    await sleep(100);
    assert.deepEqual(got, ['a', 'b', 'c'], 'the dropped line never arrives; the stream goes on');
    assert.equal(closed.length, 0, 'the stream stayed open');

    // The peer goes away: the stream reports it closed, with an error.
    for (const sock of sockets) sock.destroy();
    await sleep(100);
    assert.equal(closed.length, 1);
    assert.ok(closed[0] instanceof Error);
    assert.equal(s.closed, true);
    assert.equal(s.write('after\n'), false);
  } finally {
    peers.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});
