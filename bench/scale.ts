// npm run bench:scale [-- keys]   (default 1000000)
// Loads N keys (32 B keys, 256 B values) into one member on Postgres through txns of 128 puts,
// then reports its resident memory, kills it (SIGKILL) and times the restart until it serves
// reads again, and its memory after the restart. Last, a new member joins as a learner and catches
// up by snapshot (the log has long been compacted): the time until it holds every key.
import http from 'node:http';
import { rssMiB } from './procs.ts';
import { freePort, startEdgecd } from '../test/helpers/server.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const OPS = 128;
const VALUE = Buffer.alloc(256, 'v').toString('base64');
const key = (i: number) => Buffer.from(`scale/${String(i).padStart(26, '0')}`).toString('base64'); // 32 bytes
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function post(url: string, path: string, body: string): Promise<{ status: number; text: string }> {
  const u = new URL(url + path);
  return new Promise((resolve, reject) => {
    const r = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

const server = await startEdgecd({ args: ['--quota-backend-bytes', String(8 * 2 ** 30)] });
try {
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (;;) {
        const start = next;
        next += OPS;
        if (start >= N) return;
        const success = [];
        for (let i = start; i < Math.min(N, start + OPS); i++) success.push(`{"request_put":{"key":"${key(i)}","value":"${VALUE}"}}`);
        const r = await post(server.url, '/v3/kv/txn', `{"success":[${success.join(',')}]}`);
        if (r.status !== 200) throw new Error(`txn failed: ${r.status} ${r.text.slice(0, 200)}`);
        if (start % 100_000 < OPS) console.log(`loaded ${start + OPS} keys, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
    }),
  );
  const loadSecs = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  global.gc?.();
  const rss = rssMiB(server.proc.pid!);
  console.log(`loaded ${N} keys in ${loadSecs.toFixed(1)} s (${(N / loadSecs).toFixed(0)} keys/s); member RSS ${rss.toFixed(0)} MiB`);
  const t1 = Date.now();
  const again = await server.restart();
  const count = await post(again.url, '/v3/kv/range', `{"key":"${Buffer.from('scale/').toString('base64')}","range_end":"${Buffer.from('scale0').toString('base64')}","count_only":true}`);
  const restartSecs = (Date.now() - t1) / 1000;
  console.log(`restart after SIGKILL to serving: ${restartSecs.toFixed(1)} s (count ${JSON.parse(count.text).count}); RSS after restart ${rssMiB(again.proc.pid!).toFixed(0)} MiB`);
  const peerPort = await freePort();
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const added = await post(again.url, '/v3/cluster/member/add', JSON.stringify({ peerURLs: [peerUrl], isLearner: true }));
  if (added.status !== 200) throw new Error(`member add: ${added.status} ${added.text}`);
  const t2 = Date.now();
  const learner = await startEdgecd({ name: 'learner', peerPort, initialCluster: `default=${again.peerUrl},learner=${peerUrl}`, clusterState: 'existing' });
  let have = 0;
  while (have < N) {
    await new Promise((r) => setTimeout(r, 250));
    const r = await post(learner.url, '/v3/kv/range', `{"key":"${Buffer.from('scale/').toString('base64')}","range_end":"${Buffer.from('scale0').toString('base64')}","count_only":true,"serializable":true}`);
    have = Number(JSON.parse(r.text).count ?? 0);
    if (Date.now() - t2 > 600_000) throw new Error(`the learner holds ${have} keys after 10 minutes`);
  }
  console.log(`a new learner caught up by snapshot in ${((Date.now() - t2) / 1000).toFixed(1)} s (from its start to holding all ${N} keys); its RSS ${rssMiB(learner.proc.pid!).toFixed(0)} MiB`);
  await learner.stop();
  await again.stop();
} catch (err) {
  console.error(err);
  await server.stop();
  process.exit(1);
}
