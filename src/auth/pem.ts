/**
 * Just enough PEM and DER to accept the key files etcd 3.4 accepts (golang-jwt's
 * ParseRSAPrivateKeyFromPEM and friends) through Web Crypto, which imports only PKCS#8 and SPKI:
 * PKCS#1 ("RSA PRIVATE KEY") and SEC1 ("EC PRIVATE KEY") private keys are wrapped into PKCS#8
 * here; certificates go to jose's importX509. No node:crypto, so the auth layer runs wherever the
 * edge code does.
 */

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** The first PEM block of the text, as Go's pem.Decode takes the first one. */
export function firstPemBlock(text: string): PemBlock | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) return undefined;
  const body = m[2].replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, '');
  try {
    const bin = atob(body);
    const der = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
    return { label: m[1], der };
  } catch {
    return undefined;
  }
}

export function toPem(label: string, der: Uint8Array): string {
  let bin = '';
  for (const b of der) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

interface Tlv {
  tag: number;
  /** offset of the value */
  start: number;
  /** offset just past the value */
  end: number;
}

function readTlv(der: Uint8Array, at: number): Tlv {
  const tag = der[at];
  let len = der[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  if (tag === undefined || start + len > der.length) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

function encodeLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((s, p) => s + p.length, 0);
  const head = [tag, ...encodeLength(len)];
  const out = new Uint8Array(head.length + len);
  out.set(head, 0);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const SEQUENCE = 0x30;
const INTEGER_0 = new Uint8Array([0x02, 0x01, 0x00]);
const NULL = new Uint8Array([0x05, 0x00]);
const OID_RSA_ENCRYPTION = new Uint8Array([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]);
const OID_EC_PUBLIC_KEY = new Uint8Array([0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);

/** PKCS#1 RSAPrivateKey DER to PKCS#8 PrivateKeyInfo DER. */
export function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  return tlv(SEQUENCE, INTEGER_0, tlv(SEQUENCE, OID_RSA_ENCRYPTION, NULL), tlv(0x04, pkcs1));
}

/**
 * SEC1 ECPrivateKey DER to PKCS#8 DER. The curve comes from the key's own [0] parameters, which
 * OpenSSL always writes; a key without them cannot be placed on a curve and is refused.
 */
export function sec1ToPkcs8(sec1: Uint8Array): Uint8Array {
  const outer = readTlv(sec1, 0);
  if (outer.tag !== SEQUENCE) throw new Error('not a SEC1 EC private key');
  let at = outer.start;
  let curve: Uint8Array | undefined;
  while (at < outer.end) {
    const f = readTlv(sec1, at);
    if (f.tag === 0xa0) {
      const oid = readTlv(sec1, f.start);
      if (oid.tag === 0x06) curve = sec1.subarray(f.start, oid.end);
    }
    at = f.end;
  }
  if (!curve) throw new Error('SEC1 EC private key without its curve');
  return tlv(SEQUENCE, INTEGER_0, tlv(SEQUENCE, OID_EC_PUBLIC_KEY, curve), tlv(0x04, sec1));
}

/** PKCS#8 for an Ed25519 private key given its 32-byte seed (RFC 8410). */
export function ed25519SeedToPkcs8(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  return tlv(SEQUENCE, INTEGER_0, tlv(SEQUENCE, new Uint8Array([0x06, 0x03, 0x2b, 0x65, 0x70])), tlv(0x04, tlv(0x04, seed)));
}
