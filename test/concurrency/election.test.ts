import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, post, startCluster, unb64 } from '../helpers/cluster.ts';

// Elections on a 3-member cluster (Postgres): observers on every member, one of them over SSE on
// the raft leader, which is killed halfway; every proclaimed value reaches every observer in order.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Seen {
  values: string[];
  revs: number[];
}

/** Reads /v3/election/observe on one member until stopped: the gateway's {"result": …} lines. */
function observeStream(url: string, name: string, seen: Seen, signal: AbortSignal): Promise<void> {
  return (async () => {
    const r = await fetch(url + '/v3/election/observe', { method: 'POST', body: JSON.stringify({ name: b64(name) }), signal });
    assert.equal(r.status, 200);
    let buf = '';
    const dec = new TextDecoder();
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as { result: { header: { revision: string }; kv: { value?: string } } };
        buf = buf.slice(nl + 1);
        seen.values.push(unb64(line.result.kv.value ?? ''));
        seen.revs.push(Number(line.result.header.revision));
      }
    }
  })().catch((err: Error) => {
    if (!signal.aborted) throw err;
  });
}

/** An EventSource's behaviour by hand: reads SSE from a member, and on a drop resumes on the next member with Last-Event-ID. */
async function observeSse(urls: string[], name: string, seen: Seen, signal: AbortSignal): Promise<{ reconnects: number }> {
  let lastId: string | undefined;
  let reconnects = 0;
  for (let i = 0; !signal.aborted; i = (i + 1) % urls.length) {
    try {
      const headers: Record<string, string> = lastId ? { 'last-event-id': lastId } : {};
      const r = await fetch(`${urls[i]}/v3/election/observe/sse?name=${encodeURIComponent(b64(name))}&heartbeat=200`, { headers, signal });
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      let buf = '';
      const dec = new TextDecoder();
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const msg = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const field = (f: string): string | undefined => [...msg.matchAll(/^([\w-]+): ?(.*)$/gm)].find((m) => m[1] === f)?.[2];
          const id = field('id');
          if (id !== undefined) lastId = id;
          const event = field('event');
          const data = field('data');
          if (event === undefined && data) {
            const d = JSON.parse(data) as { kv: { value?: string } };
            seen.values.push(unb64(d.kv.value ?? ''));
            seen.revs.push(Number(id));
          }
        }
      }
    } catch {
      // the member went away: try the next one
    }
    if (!signal.aborted) {
      reconnects++;
      await sleep(200);
    }
  }
  return { reconnects };
}

async function statusOf(url: string): Promise<{ id: string; leader: string } | undefined> {
  try {
    const r = await post(url, '/v3/maintenance/status', {}, 2000);
    return { id: r.json.header.member_id, leader: r.json.leader };
  } catch {
    return undefined;
  }
}

/** A request retried until the cluster answers it (a leader kill makes some fail). */
async function retry<T>(urls: string[], fn: (url: string) => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn(urls[i % urls.length]);
    } catch (err) {
      if (i > 60) throw err;
      await sleep(250);
    }
  }
}

test('observers on every member see every proclaimed value in order across a kill of the raft leader; resign hands over', async () => {
  const cluster = await startCluster({ size: 3 });
  const ac = new AbortController();
  try {
    const urls = cluster.members.map((m) => m!.url);
    const statuses = await Promise.all(urls.map(statusOf));
    const leaderIdx = statuses.findIndex((s) => s && s.id === s.leader);
    assert.ok(leaderIdx >= 0, 'a raft leader');
    const followers = urls.filter((_, i) => i !== leaderIdx);
    const via = followers[0];

    const leaseA = (await post(via, '/v3/lease/grant', { TTL: 60 })).json.ID;
    const leaseB = (await post(via, '/v3/lease/grant', { TTL: 60 })).json.ID;
    const camp = await post(via, '/v3/election/campaign', { name: b64('svc'), lease: leaseA, value: b64('a0') });
    assert.equal(camp.status, 200);
    const leader = camp.json.leader;

    // A second campaigner waits behind the first.
    const second = post(followers[1], '/v3/election/campaign', { name: b64('svc'), lease: leaseB, value: b64('b0') }, 120_000);

    const streams: Seen[] = followers.map(() => ({ values: [], revs: [] }));
    const sse: Seen = { values: [], revs: [] };
    const running = followers.map((u, i) => observeStream(u, 'svc', streams[i], ac.signal));
    // The SSE observer starts on the member about to be killed.
    const sseRun = observeSse([urls[leaderIdx], ...followers], 'svc', sse, ac.signal);
    await sleep(300);

    const proclaimed = ['a0'];
    const proclaim = async (v: string) => {
      await retry(followers, async (u) => {
        const r = await post(u, '/v3/election/proclaim', { leader, value: b64(v) }, 5000);
        if (r.status !== 200) throw new Error(JSON.stringify(r.json));
      });
      proclaimed.push(v);
    };
    for (let i = 1; i <= 8; i++) await proclaim(`a${i}`);
    await cluster.members[leaderIdx]!.kill();
    for (let i = 9; i <= 16; i++) await proclaim(`a${i}`);

    // Resign: the waiting campaigner leads, with its own value.
    const resigned = await retry(followers, async (u) => {
      const r = await post(u, '/v3/election/resign', { leader }, 5000);
      if (r.status !== 200) throw new Error(JSON.stringify(r.json));
      return r;
    });
    assert.equal(resigned.status, 200);
    const b = await second;
    assert.equal(b.status, 200, JSON.stringify(b.json));
    assert.ok(Number(b.json.leader.rev) > Number(leader.rev));
    proclaimed.push('b0');
    const now = await post(via, '/v3/election/leader', { name: b64('svc') });
    assert.equal(unb64(now.json.kv.value), 'b0');

    const last = (s: Seen) => s.values[s.values.length - 1];
    for (let i = 0; i < 100 && ![...streams, sse].every((s) => last(s) === 'b0'); i++) await sleep(100);
    // A proclaim retried after an unknown outcome may land twice: consecutive repeats are one value.
    const dedup = (vs: string[]) => vs.filter((v, i) => i === 0 || vs[i - 1] !== v);
    for (const [i, s] of streams.entries()) {
      assert.deepEqual(dedup(s.values), proclaimed, `stream observer on follower ${i}`);
      assert.ok(s.revs.every((r, j) => j === 0 || r > s.revs[j - 1]), 'revisions rise');
    }
    assert.deepEqual(dedup(sse.values), proclaimed, 'the SSE observer, resumed on another member after the kill');
    assert.ok(sse.revs.every((r, j) => j === 0 || r > sse.revs[j - 1]), 'SSE ids rise: nothing repeated on resume');
    // The first line carries the revision each observer started at; every change after it is the same.
    assert.deepEqual(streams[0].revs.slice(1), streams[1].revs.slice(1), 'observers on different members see the same revisions');
    ac.abort();
    await Promise.all(running);
    const { reconnects } = await sseRun;
    assert.ok(reconnects >= 1, 'the SSE observer did reconnect');
  } finally {
    ac.abort();
    await cluster.stop();
  }
});
