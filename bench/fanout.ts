import http from 'node:http';

/**
 * Watch fan-out: 1,000 watchers on one key (10 POST /v3/watch streams of 100 watchers) while 16
 * writers put to that key; counts events delivered per second.
 */

const b64 = (s: string) => Buffer.from(s).toString('base64');

function openStream(url: string, body: string, onEvents: (n: number) => void): Promise<http.ClientRequest> {
  const u = new URL(`${url}/v3/watch`);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false }, (res) => {
      let tail = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        const s = tail + d;
        let at = 0;
        let i: number;
        let n = 0;
        while ((i = s.indexOf('\n', at)) >= 0) {
          const line = s.slice(at, i);
          at = i + 1;
          // Count events without parsing: each one carries a kv object.
          let from = 0;
          let k: number;
          while ((k = line.indexOf('"kv":', from)) >= 0) {
            n++;
            from = k + 5;
          }
        }
        tail = s.slice(at);
        if (n) onEvents(n);
      });
      resolve(req);
    });
    req.on('error', reject);
    // The body stays open (the stream is full duplex as far as the gateway allows).
    req.write(body);
  });
}

export async function fanout(urls: string[], seconds: number, watchers = 1000, streams = 10): Promise<{ eventsPerSec: number; puts: number }> {
  let events = 0;
  const key = b64('bench/fan');
  const per = Math.ceil(watchers / streams);
  const body = Array.from({ length: per }, () => JSON.stringify({ create_request: { key } })).join('\n') + '\n';
  const reqs = await Promise.all(Array.from({ length: streams }, (_, i) => openStream(urls[i % urls.length], body, (n) => (events += n))));
  await new Promise((r) => setTimeout(r, 1000));
  events = 0;
  let puts = 0;
  let stop = false;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const put = (url: string) =>
    new Promise<void>((resolve) => {
      const u = new URL(`${url}/v3/kv/put`);
      const r = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      r.on('error', () => resolve());
      r.end(JSON.stringify({ key, value: b64('x') }));
    });
  const t0 = Date.now();
  const writers = Array.from({ length: 16 }, async (_, w) => {
    while (!stop) {
      await put(urls[w % urls.length]);
      puts++;
    }
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  await Promise.all(writers);
  await new Promise((r) => setTimeout(r, 500));
  const elapsed = (Date.now() - t0) / 1000;
  for (const r of reqs) r.destroy();
  agent.destroy();
  return { eventsPerSec: events / elapsed, puts };
}
