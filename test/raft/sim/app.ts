// The replicated state machine used by the simulation: a hash chain over the
// applied entries. Two members that applied the same entries up to an index
// have the same (index, hash); a snapshot carries exactly that.
import type { ConfState, Entry } from '../../../src/raft/index.ts';

export interface AppState {
  index: number;
  hash: number;
  confState: ConfState;
}

const td = new TextDecoder();
const te = new TextEncoder();

/** A short key naming an entry's content, for error messages and comparisons. */
export function entryKey(e: Entry): string {
  if (e.data.length === 0) return '';
  return (e.type === 'confChange' ? 'cc:' : '') + td.decode(e.data);
}

export function chain(hash: number, e: Entry, key: string): number {
  let h = (hash ^ 0x811c9dc5) >>> 0;
  h = Math.imul(h ^ e.index, 16777619) >>> 0;
  h = Math.imul(h ^ e.term, 16777619) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export function encodeApp(s: AppState): Uint8Array {
  return te.encode(JSON.stringify(s));
}

export function decodeApp(b: Uint8Array, fallback: AppState): AppState {
  if (b.length === 0) return fallback;
  return JSON.parse(td.decode(b)) as AppState;
}
