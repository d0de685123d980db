import type { Entry, Message, Snapshot } from '../raft/index.ts';

/** Raft messages as JSON for the wire: byte fields as base64. */

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

interface WireEntry {
  t: number;
  i: number;
  y: Entry['type'];
  d: string;
}

export interface WireMessage extends Omit<Message, 'entries' | 'snapshot' | 'context'> {
  entries: WireEntry[];
  snapshot?: { metadata: Snapshot['metadata']; data: string };
  context?: string;
}

export function toWire(m: Message): WireMessage {
  const w: WireMessage = { ...m, entries: m.entries.map((e) => ({ t: e.term, i: e.index, y: e.type, d: b64(e.data) })), snapshot: undefined, context: undefined };
  if (m.snapshot) w.snapshot = { metadata: m.snapshot.metadata, data: b64(m.snapshot.data) };
  if (m.context) w.context = b64(m.context);
  return w;
}

export function fromWire(w: WireMessage): Message {
  const m: Message = {
    ...w,
    entries: w.entries.map((e) => ({ term: e.t, index: e.i, type: e.y, data: unb64(e.d) })),
    snapshot: w.snapshot ? { metadata: w.snapshot.metadata, data: unb64(w.snapshot.data) } : undefined,
    context: w.context !== undefined ? unb64(w.context) : undefined,
  };
  if (m.snapshot === undefined) delete m.snapshot;
  if (m.context === undefined) delete m.context;
  return m;
}
