import type { Kind, MessageDesc } from './proto-decode.ts';

/**
 * The protobuf wire size of a decoded request, because etcd's limits apply to the encoded
 * message, not to the JSON body: gRPC refuses a message over max-request-bytes + 512 KiB, and the
 * server refuses a raft request over max-request-bytes.
 */

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

export function varintSize(v: bigint | number): number {
  let n = BigInt(v);
  if (n < 0n) return 10;
  let size = 1;
  while (n >= 0x80n) {
    n >>= 7n;
    size++;
  }
  return size;
}

const bytesLen = (s: string, kind: string) => (kind === 'string' ? Buffer.byteLength(s, 'utf8') : s.length);

function valueSize(v: unknown, kind: Kind, present: boolean): number {
  if (typeof kind === 'string') {
    if (kind === 'bytes' || kind === 'string') {
      const n = bytesLen(v as string, kind);
      return n === 0 && !present ? -1 : varintSize(n) + n;
    }
    if (kind === 'bool') return v || present ? 1 : -1;
    const n = v as number | bigint;
    return (n === 0 || n === 0n) && !present ? -1 : varintSize(n);
  }
  if ('enum' in kind) return v === 0 && !present ? -1 : varintSize(v as number);
  if ('message' in kind) {
    if (v === undefined) return -1;
    const n = messageSize(v as Record<string, unknown>, kind.message());
    return varintSize(n) + n;
  }
  return -1;
}

export function messageSize(msg: Record<string, unknown>, desc: MessageDesc): number {
  let size = 0;
  desc.fields.forEach((f, i) => {
    const v = msg[f.prop ?? camel(f.name)];
    const tag = desc.goName === 'etcdserverpb.Compare' && f.name === 'range_end' ? 2 : i >= 15 ? 2 : 1;
    if (typeof f.kind === 'object' && 'repeated' in f.kind) {
      for (const item of v as unknown[]) {
        const s = valueSize(item, f.kind.repeated, true);
        size += tag + s;
      }
      return;
    }
    if (f.oneof && v === undefined) return;
    const s = valueSize(v, f.kind, f.oneof === true);
    if (s >= 0) size += tag + s;
  });
  return size;
}
