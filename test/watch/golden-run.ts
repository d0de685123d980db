// Runs the watch conformance cases against a server (etcd when recording, edgecd when testing)
// and captures each watch stream's status, compared headers and answer lines.
import http from 'node:http';
import { comparedHeader } from '../conformance/http.ts';
import type { Step, WatchCase } from './golden-cases.ts';

export interface WatchTranscript {
  case: string;
  note?: string;
  request: { method: string; body: string; headers?: Record<string, string> };
  status: number;
  headers: Record<string, string>;
  lines: string[];
}

/** Replaces "$REV", "$REV-n", "$REV+n" with revisions relative to the last write. */
const subst = (s: string, rev: number) => s.replace(/\$REV([+-]\d+)?/g, (_m, d: string | undefined) => String(rev + Number(d ?? 0)));

async function post(base: string, step: Step, rev: number): Promise<number> {
  const r = await fetch(new URL(step.path, base), { method: 'POST', body: subst(step.body, rev) });
  const text = await r.text();
  const m = /"revision":"(\d+)"/.exec(text);
  return m ? Number(m[1]) : rev;
}

function openWatch(base: string, c: WatchCase, body: string, onLine: (n: number) => void): Promise<{ status: number; headers: Record<string, string>; lines: string[]; close(): void }> {
  const url = new URL('/v3/watch', base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    const buf = Buffer.from(body);
    if (c.method !== 'GET') headers['content-length'] = String(buf.length);
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: c.method ?? 'POST', headers, agent: false }, (res) => {
      const lines: string[] = [];
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        pending += d;
        let i: number;
        while ((i = pending.indexOf('\n')) >= 0) {
          lines.push(pending.slice(0, i));
          pending = pending.slice(i + 1);
          onLine(lines.length);
        }
      });
      const picked: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (comparedHeader(k) && v !== undefined) picked[k] = Array.isArray(v) ? v.join(', ') : v;
      const done = () => {
        if (pending) lines.push(pending);
        pending = '';
      };
      res.on('end', done);
      resolve({
        status: res.statusCode ?? 0,
        headers: picked,
        lines,
        close() {
          done();
          req.destroy();
        },
      });
    });
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
    if (c.method !== 'GET') req.write(buf);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCase(base: string, c: WatchCase, state: { rev: number }): Promise<WatchTranscript> {
  for (const s of c.setup ?? []) state.rev = await post(base, s, state.rev);
  const body = subst(c.body, state.rev);
  let count = 0;
  let wake: (() => void) | undefined;
  const w = await openWatch(base, c, body, (n) => {
    count = n;
    wake?.();
  });
  const waitLines = async (n: number, ms: number) => {
    const deadline = Date.now() + ms;
    while (count < n && Date.now() < deadline) await new Promise<void>((r) => ((wake = r), setTimeout(r, 20)));
  };
  if (c.after?.length) {
    // The writes follow the stream's answers to its requests, as a client's would: a server that
    // answers each create after its own check (the edge proxy) may otherwise see a write first.
    await waitLines(1, 3000);
    for (let seen = -1; seen !== count; ) {
      seen = count;
      await sleep(100);
    }
    for (const s of c.after) {
      state.rev = await post(base, s, state.rev);
      await sleep(30);
    }
  }
  await waitLines(c.lines, 5000);
  await sleep(c.lines === 0 ? 300 : 150);
  w.close();
  return { case: c.name, ...(c.note ? { note: c.note } : {}), request: { method: c.method ?? 'POST', body, ...(c.headers ? { headers: c.headers } : {}) }, status: w.status, headers: w.headers, lines: w.lines };
}

/** What may differ between two servers: the cluster's identity, and huge values (kept as their length). */
export function normaliseLine(line: string): string {
  return line
    .replace(/"(cluster_id|member_id|raft_term)":"\d+"/g, '"$1":"<$1>"')
    .replace(/"value":"([A-Za-z0-9+/=]{200,})"/g, (_m, v: string) => `"value":"<${Buffer.from(v, 'base64').length} bytes, ${v.slice(0, 8)}>"`);
}

/**
 * etcd answers the watchers of one stream in an order of its own (Go maps): compare each watch_id's
 * answers in order, and all answers as a multiset.
 */
export function byWatch(lines: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of lines) {
    let id = 'none';
    try {
      const o = JSON.parse(l);
      id = o.result ? String(o.result.watch_id ?? '0') : 'error';
    } catch {
      id = 'unparsed';
    }
    (out[id] ??= []).push(l);
  }
  return out;
}

export function goldenFileName(index: number, name: string): string {
  return `${String(index + 1).padStart(3, '0')}-${name}.json`;
}
