import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { startEdgecd, type EdgecdProcess } from '../helpers/server.ts';
import { until } from './model.ts';

/**
 * A real browser's EventSource (Debian's chromium through playwright-core) on a page from another
 * origin, watching through a TCP proxy that the test cuts: the browser reconnects by itself with
 * Last-Event-ID and gets exactly the events it missed, none twice.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
let server: EdgecdProcess;
let browser: Browser;
let page: http.Server;
let proxy: net.Server;
const open = new Set<net.Socket>();
let refuse = false;

before(async () => {
  if (!haveBrowser) return;
  server = await startEdgecd();
  const target = new URL(server.url);
  proxy = net.createServer((c) => {
    if (refuse) return c.destroy();
    const up = net.connect(Number(target.port), target.hostname);
    open.add(c);
    c.on('close', () => open.delete(c));
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
    c.on('close', () => up.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  page = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>watch</title>');
  });
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

after(async () => {
  await browser?.close();
  proxy?.close();
  page?.close();
  await server?.stop();
});

test('a browser EventSource survives a dropped connection: resumes with Last-Event-ID, nothing lost or repeated', { skip: !haveBrowser && !process.env.CI ? `no browser at ${CHROMIUM}` : false }, async () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const put = (k: string, v: string) => fetch(`${server.url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(k), value: b64(v) }) });
  const tab = await browser.newPage();
  await tab.goto(`http://127.0.0.1:${(page.address() as net.AddressInfo).port}/`);
  const sseUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}/v3/watch/sse?prefix=br/&encoding=text&retry=200`;
  await tab.evaluate((url) => {
    const w = window as unknown as { got: unknown[]; opens: number; errors: number };
    w.got = [];
    w.opens = 0;
    w.errors = 0;
    const es = new EventSource(url);
    es.onopen = () => w.opens++;
    es.onerror = () => w.errors++;
    es.addEventListener('created', (e) => w.got.push({ type: 'created', id: (e as MessageEvent).lastEventId }));
    es.onmessage = (e) => {
      const r = JSON.parse(e.data);
      for (const ev of r.events) w.got.push({ type: 'event', id: e.lastEventId, key: ev.kv.key, value: ev.kv.value, rev: ev.kv.mod_revision }); // encoding=text: plain strings
    };
  }, sseUrl);
  const got = () => tab.evaluate(() => (window as unknown as { got: { type: string; id: string; key?: string; value?: string; rev?: string }[] }).got);
  await until(() => open.size > 0, 10_000, 'the browser to connect');
  await new Promise((r) => setTimeout(r, 200));
  for (let i = 1; i <= 3; i++) await put(`br/${i}`, `before-${i}`);
  const t0 = Date.now();
  while ((await got()).filter((g) => g.type === 'event').length < 3) {
    if (Date.now() - t0 > 10_000) throw new Error('no events in the browser');
    await new Promise((r) => setTimeout(r, 50));
  }
  // Drop the connection, keep the browser out while writes go on, then let it back in.
  refuse = true;
  for (const s of open) s.destroy();
  for (let i = 1; i <= 3; i++) await put(`br/${i}`, `during-${i}`);
  await new Promise((r) => setTimeout(r, 500));
  refuse = false;
  await put('br/4', 'after');
  const t1 = Date.now();
  while ((await got()).filter((g) => g.type === 'event').length < 7) {
    if (Date.now() - t1 > 15_000) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const events = (await got()).filter((g) => g.type === 'event');
  assert.deepEqual(
    events.map((e) => `${e.key}=${e.value}`),
    ['br/1=before-1', 'br/2=before-2', 'br/3=before-3', 'br/1=during-1', 'br/2=during-2', 'br/3=during-3', 'br/4=after'],
  );
  // A message's id is the revision it covers up to (the catch-up after the drop is one message).
  const ids = events.map((e) => Number(e.id));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  for (const e of events) assert.ok(Number(e.rev) <= Number(e.id), `event at ${e.rev} in a message with id ${e.id}`);
  const state = await tab.evaluate(() => ({ opens: (window as unknown as { opens: number }).opens, errors: (window as unknown as { errors: number }).errors }));
  assert.ok(state.opens >= 2 && state.errors >= 1, `the browser reconnected by itself (${JSON.stringify(state)})`);
  await tab.close();
});
