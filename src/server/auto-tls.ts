import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';

/**
 * etcd's --auto-tls: a self-signed certificate for the client listeners, made on first start under
 * the data dir (etcd's fixtures/client) and kept, so a restarted member serves the same one. For
 * development: clients must skip verification or trust this certificate.
 */
export async function autoTlsCertificate(dataDir: string, hosts: string[]): Promise<{ cert: Buffer; key: Buffer }> {
  const dir = path.join(dataDir, 'fixtures', 'client');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true });
    const altNames = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h }));
    const pems = await generate([{ name: 'commonName', value: 'edgecd' }], {
      days: 365,
      keySize: 2048,
      extensions: [{ name: 'subjectAltName', altNames }],
    } as never);
    writeFileSync(keyFile, pems.private, { mode: 0o600 });
    writeFileSync(certFile, pems.cert);
  }
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
