/**
 * The etcd 3.4.23 auth fixture (fixtures/etcd-3.4.23-auth.json: 1,256 gateway calls beside etcd's
 * answers) replayed over HTTP against a real edgecd member, started as the fixture's etcd was
 * (--auth-token simple --bcrypt-cost 4): every status and body must match etcd's, header aside.
 * Two kinds of step differ on purpose (the fixture marks them): edgecd also checks nested txns and a
 * txn put's prev_kv, and refuses where etcd 3.4.23 allowed; the key space differs from there on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEdgecd } from '../helpers/server.ts';
import type { Answer, Fixture } from './oracle/record.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(path.join(HERE, 'fixtures/etcd-3.4.23-auth.json'), 'utf8')) as Fixture;
const PERMISSION_DENIED: Answer = { status: 403, body: { error: 'etcdserver: permission denied', message: 'etcdserver: permission denied', code: 7 } };

async function post(url: string, route: string, body: unknown, token?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = token;
  const r = await fetch(`${url}/v3/${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = (await r.json()) as Record<string, unknown>;
  delete json.header;
  if (typeof json.token === 'string') json.token = '<token>';
  return { status: r.status, body: json };
}

for (const [name, steps] of Object.entries(fixture.scenarios)) {
  test(`over HTTP: etcd ${fixture.etcd}'s answers to scenario "${name}" (${steps.length} calls)`, { timeout: 600_000 }, async () => {
    const server = await startEdgecd({ args: ['--auth-token', 'simple', '--bcrypt-cost', '4'] });
    const passwords = new Map<string, string>();
    // Once edgecd refused a write etcd allowed, the key space differs: key-value answers are then
    // compared on their permission decision only.
    let diverged = false;
    try {
      for (const [i, s] of steps.entries()) {
        const where = `step ${i}: ${s.as ? `as ${s.as}: ` : ''}${s.call} ${JSON.stringify(s.body)}${s.note ? ` (${s.note})` : ''}`;
        let token: string | undefined;
        if (s.as !== undefined) {
          const r = await fetch(`${server.url}/v3/auth/authenticate`, { method: 'POST', body: JSON.stringify({ name: s.as, password: passwords.get(s.as) ?? '' }) });
          const j = (await r.json()) as Record<string, unknown>;
          if (typeof j.token === 'string') token = j.token;
          else {
            delete j.header;
            assert.deepEqual({ status: r.status, body: j }, s.authError, `${where}: authenticate`);
          }
        }
        const got = await post(server.url, s.call, s.body, token);
        if (got.status === 200 && (s.call === 'auth/user/add' || s.call === 'auth/user/changepw')) passwords.set(s.body.name as string, s.body.password as string);
        if (s.divergence) {
          assert.deepEqual(got, PERMISSION_DENIED, `${where}: edgecd refuses what etcd 3.4.23 allowed (${s.divergence})`);
          diverged = true;
        } else if (diverged && s.call.startsWith('kv/') && s.answer.status === 200) assert.equal(got.status, 200, where);
        else assert.deepEqual(got, s.answer, where);
      }
    } finally {
      await server.stop();
    }
  });
}
