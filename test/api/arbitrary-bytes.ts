import fc from 'fast-check';

/** Byte strings for the encoding tests: valid and invalid UTF-8, NUL, high bytes, a BOM, encoded surrogates, overlong forms. */
export const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
  fc.constantFrom(...[[0], [0xff], [0xef, 0xbb, 0xbf], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0x22, 0x5c], [0xe2, 0x80, 0xa8], [0xf4, 0x90, 0x80, 0x80]].map((b) => new Uint8Array(b))),
);

export function isUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** The text encoding's form of some bytes, written independently of the server's code. */
export const textForm = (b: Uint8Array): string | { base64: string } => (isUtf8(b) ? Buffer.from(b).toString('utf8') : { base64: Buffer.from(b).toString('base64') });

/** The bytes a text-encoded field stands for. */
export function fromTextForm(f: unknown): Buffer {
  if (typeof f === 'string') return Buffer.from(f, 'utf8');
  if (f && typeof f === 'object' && typeof (f as { base64?: unknown }).base64 === 'string') return Buffer.from((f as { base64: string }).base64, 'base64');
  throw new Error(`not a text-encoded bytes field: ${JSON.stringify(f)}`);
}
