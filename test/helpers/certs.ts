import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A CA and certificates for loopback, made with openssl: `member` (from the CA, for servers and
 * clients alike), `alice` and `root` (client certificates whose common names are users), and
 * `other` (valid TLS, from another CA).
 */
export function makeCerts(dir: string): Record<'ca' | 'cert' | 'key' | 'otherCert' | 'otherKey' | 'aliceCert' | 'aliceKey' | 'rootCert' | 'rootKey', string> {
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=edgecd-test-ca', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  const leaf = (name: string, ca: string, caKey: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`));
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f(`${name}.crt`));
  };
  leaf('member', f('ca.crt'), f('ca.key'));
  leaf('alice', f('ca.crt'), f('ca.key'));
  leaf('root', f('ca.crt'), f('ca.key'));
  // A certificate from another CA: valid TLS, but not of this cluster.
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=other-ca', '-keyout', f('other-ca.key'), '-out', f('other-ca.crt'));
  leaf('other', f('other-ca.crt'), f('other-ca.key'));
  return {
    ca: f('ca.crt'),
    cert: f('member.crt'),
    key: f('member.key'),
    otherCert: f('other.crt'),
    otherKey: f('other.key'),
    aliceCert: f('alice.crt'),
    aliceKey: f('alice.key'),
    rootCert: f('root.crt'),
    rootKey: f('root.key'),
  };
}
