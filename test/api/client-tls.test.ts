import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { makeCerts } from '../helpers/certs.ts';
import { b64, post } from '../helpers/cluster.ts';
import { freePort, startEdgecd } from '../helpers/server.ts';

/**
 * Clients over TLS: a listener with --client-cert-auth turns away a client without a certificate
 * or with one of another CA, and serves one of its CA; with auth on and no token, the certificate's
 * common name is the user (etcd's rule). --auto-tls serves a generated certificate.
 */

interface Reply {
  status: number;
  json: any;
}

function tlsPost(url: string, p: string, body: unknown, opts: https.RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}${p}`, { ...opts, method: 'POST', timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('client TLS: no, a wrong and a trusted certificate; the certificate names the user when auth is on', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-client-tls-'));
  const certs = makeCerts(dir);
  const tlsPort = await freePort();
  const plainPort = await freePort();
  const tlsUrl = `https://127.0.0.1:${tlsPort}`;
  const server = await startEdgecd({
    port: plainPort,
    args: ['--listen-client-urls', `http://127.0.0.1:${plainPort},${tlsUrl}`, '--cert-file', certs.cert, '--key-file', certs.key, '--trusted-ca-file', certs.ca, '--client-cert-auth', '--bcrypt-cost', '4'],
  });
  const ca = readFileSync(certs.ca);
  const as = (name: 'alice' | 'root') => ({ ca, cert: readFileSync(certs[`${name}Cert`]), key: readFileSync(certs[`${name}Key`]) });
  try {
    await assert.rejects(tlsPost(tlsUrl, '/v3/kv/range', { key: b64('a') }, { ca }), 'no client certificate: the handshake fails');
    await assert.rejects(tlsPost(tlsUrl, '/v3/kv/range', { key: b64('a') }, { ca, cert: readFileSync(certs.otherCert), key: readFileSync(certs.otherKey) }), "another CA's certificate: refused");
    assert.equal((await tlsPost(tlsUrl, '/v3/kv/put', { key: b64('a'), value: b64('1') }, as('alice'))).status, 200, 'a certificate of the CA is served');

    const plain = `http://127.0.0.1:${plainPort}`;
    for (const [p, body] of [
      ['/v3/auth/user/add', { name: 'root', password: 'r' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/user/add', { name: 'alice', password: 'a' }],
      ['/v3/auth/role/add', { name: 'a-only' }],
      ['/v3/auth/role/grant', { name: 'a-only', perm: { permType: 'READWRITE', key: b64('a') } }],
      ['/v3/auth/user/grant', { user: 'alice', role: 'a-only' }],
      ['/v3/auth/enable', {}],
    ] as const) assert.equal((await post(plain, p, body)).status, 200, p);
    assert.equal((await post(plain, '/v3/kv/range', { key: b64('a') })).status, 400, 'plain HTTP without a token: user name is empty');
    assert.equal((await tlsPost(tlsUrl, '/v3/kv/range', { key: b64('a') }, as('alice'))).json.count, '1', 'alice by her certificate');
    assert.equal((await tlsPost(tlsUrl, '/v3/kv/range', { key: b64('b') }, as('alice'))).status, 403, 'and only what her roles allow');
    assert.equal((await tlsPost(tlsUrl, '/v3/kv/range', { key: b64('b') }, as('root'))).status, 200, 'root by its certificate');
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--auto-tls serves https with a generated certificate, the same one after a restart', { timeout: 120_000 }, async () => {
  const tlsPort = await freePort();
  const plainPort = await freePort();
  const server = await startEdgecd({ port: plainPort, args: ['--listen-client-urls', `http://127.0.0.1:${plainPort},https://127.0.0.1:${tlsPort}`, '--auto-tls'] });
  try {
    const fingerprint = () =>
      new Promise<string>((resolve, reject) => {
        const req = https.request(`https://127.0.0.1:${tlsPort}/v3/kv/range`, { method: 'POST', rejectUnauthorized: false }, (res) => {
          resolve((res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256);
          res.resume();
        });
        req.on('error', reject);
        req.end(JSON.stringify({ key: b64('x') }));
      });
    const first = await fingerprint();
    assert.match(first, /^[0-9A-F:]+$/);
    const again = await server.restart();
    server.stop = again.stop;
    assert.equal(await fingerprint(), first);
  } finally {
    await server.stop();
  }
});
