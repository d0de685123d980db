/**
 * Standard base64 decoding with Go's rules (encoding/base64 StdEncoding): padding required,
 * '\r' and '\n' skipped, and the same "illegal base64 data at input byte N" offsets, since etcd's
 * gateway answers bad base64 with that text.
 */

export class Base64Error extends Error {
  constructor(at: number) {
    super(`illegal base64 data at input byte ${at}`);
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const MAP = new Uint8Array(256).fill(0xff);
for (let i = 0; i < 64; i++) MAP[ALPHABET.charCodeAt(i)] = i;
const PAD = 0x3d;
const isNL = (c: number) => c === 0x0a || c === 0x0d;

/** Decodes src (the JSON string's bytes) into a latin1 byte string. */
export function decodeBase64(src: Uint8Array): string {
  // Fast path: well-formed input is what clients send nearly always.
  if (src.length % 4 === 0) {
    let ok = true;
    for (let i = 0; i < src.length; i++) {
      const c = src[i];
      if (MAP[c] === 0xff && !(c === PAD && i >= src.length - 2)) {
        ok = false;
        break;
      }
    }
    if (ok && !(src.length >= 2 && src[src.length - 2] === PAD && src[src.length - 1] !== PAD)) {
      const buf = Buffer.from(src.buffer, src.byteOffset, src.length);
      const out = Buffer.from(buf.toString('latin1'), 'base64');
      // Go rejects non-zero trailing bits ("strict" is off for StdEncoding, so they are accepted).
      return out.toString('latin1');
    }
  }
  return slowDecode(src);
}

function slowDecode(src: Uint8Array): string {
  let out = '';
  let si = 0;
  for (;;) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let j = 0;
    let trailing = -1;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return out;
        throw new Base64Error(si - j);
      }
      const c = src[si++];
      const v = MAP[c];
      if (v !== 0xff) {
        dbuf[j] = v;
        continue;
      }
      if (isNL(c)) {
        j--;
        continue;
      }
      if (c !== PAD) throw new Base64Error(si - 1);
      if (j < 2) throw new Base64Error(si - 1);
      if (j === 2) {
        while (si < src.length && isNL(src[si])) si++;
        if (si === src.length) throw new Base64Error(src.length);
        if (src[si] !== PAD) throw new Base64Error(si - 1);
        si++;
      }
      while (si < src.length && isNL(src[si])) si++;
      if (si < src.length) trailing = si;
      dlen = j;
      break;
    }
    const val = (dbuf[0] << 18) | (dbuf[1] << 12) | (dbuf[2] << 6) | dbuf[3];
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    out += String.fromCharCode(...bytes.slice(0, dlen - 1));
    if (trailing >= 0) throw new Base64Error(trailing);
    if (dlen < 4) return out;
  }
}
