import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { makeCerts } from '../helpers/certs.ts';
import { b64, post, startCluster, unb64 } from '../helpers/cluster.ts';

/** Members talk over mutual TLS: certificates from one CA, and a peer without one is turned away. */

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
