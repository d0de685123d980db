import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { b64, post, startCluster, unb64 } from '../helpers/cluster.ts';

/** Members talk over mutual TLS: certificates from one CA, and a peer without one is turned away. */

function makeCerts(dir: string): Record<'ca' | 'cert' | 'key' | 'otherCert' | 'otherKey', string> {
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=edgecd-test-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  const leaf = (name: string, ca: string, caKey: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`));
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f(`${name}.crt`));
  };
  leaf('member', f('ca.crt'), f('ca.key'));
  // A certificate from another CA: valid TLS, but not of this cluster.
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=other-ca', '-keyout', f('other-ca.key'), '-out', f('other-ca.crt'));
  leaf('other', f('other-ca.crt'), f('other-ca.key'));
  return { ca: f('ca.crt'), cert: f('member.crt'), key: f('member.key'), otherCert: f('other.crt'), otherKey: f('other.key') };
}

function peerGet(url: string, opts: https.RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}/raft/members`, { ...opts, method: 'GET', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a cluster over peer mTLS replicates, and refuses peers without a certificate of its CA', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-tls-'));
  const certs = makeCerts(dir);
  const args = ['--peer-cert-file', certs.cert, '--peer-key-file', certs.key, '--peer-trusted-ca-file', certs.ca, '--peer-client-cert-auth'];
  const c = await startCluster({ size: 3, args, peerScheme: 'https' });
  try {
    const urls = c.members.map((m) => m!.url);
    const put = await post(urls[0], '/v3/kv/put', { key: b64('tls'), value: b64('on') });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    for (const url of urls) {
      const r = await post(url, '/v3/kv/range', { key: b64('tls') });
      assert.equal(unb64(r.json.kvs[0].value), 'on');
    }
    const peer = c.members[1]!.peerUrl;
    assert.match(peer, /^https:/);
    const ca = readFileSync(certs.ca);
    assert.equal(await peerGet(peer, { ca, cert: readFileSync(certs.cert), key: readFileSync(certs.key) }), 200);
    await assert.rejects(peerGet(peer, { ca }), 'no client certificate');
    await assert.rejects(peerGet(peer, { ca, cert: readFileSync(certs.otherCert), key: readFileSync(certs.otherKey) }), 'certificate of another CA');
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
