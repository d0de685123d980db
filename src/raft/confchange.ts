// Membership changes, one member at a time. A confChange entry's data is the
// self-describing encoding below; the change takes effect on a member when the
// application applies the committed entry (RawNode.applyConfChange).
import type { ProgressTracker } from './tracker.ts';
import type { ConfChange, ConfChangeType, ConfState, NodeId } from './types.ts';

const MAGIC = 0xcc;
const VERSION = 1;
const TYPES: ConfChangeType[] = ['addNode', 'addLearner', 'removeNode'];

const utf8enc = new TextEncoder();
const utf8dec = new TextDecoder();

/** Layout: magic(1) version(1) type(1) idLen(u16 BE) id(utf8) ctxLen(u32 BE) ctx. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const id = utf8enc.encode(cc.nodeId);
  const ctx = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(3 + 2 + id.length + 4 + ctx.length);
  const dv = new DataView(out.buffer);
  out[0] = MAGIC;
  out[1] = VERSION;
  out[2] = TYPES.indexOf(cc.type);
  dv.setUint16(3, id.length);
  out.set(id, 5);
  dv.setUint32(5 + id.length, ctx.length);
  out.set(ctx, 9 + id.length);
  return out;
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  if (bytes.length < 9 || bytes[0] !== MAGIC || bytes[1] !== VERSION) throw new Error('not an encoded ConfChange');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = TYPES[bytes[2]];
  if (type === undefined) throw new Error(`unknown ConfChange type ${bytes[2]}`);
  const idLen = dv.getUint16(3);
  const nodeId = utf8dec.decode(bytes.subarray(5, 5 + idLen));
  const ctxLen = dv.getUint32(5 + idLen);
  const start = 9 + idLen;
  if (start + ctxLen !== bytes.length) throw new Error('malformed ConfChange');
  const cc: ConfChange = { type, nodeId };
  if (ctxLen > 0) cc.context = bytes.slice(start, start + ctxLen);
  return cc;
}

/**
 * Why `cc` cannot be applied to the configuration (voters, learners), or
 * undefined if it can. Invalid changes are ignored identically on every member.
 */
export function validateConfChange(voters: ReadonlySet<NodeId>, cc: ConfChange): string | undefined {
  if (cc.nodeId === '') return 'empty node id';
  if (cc.type === 'removeNode' || cc.type === 'addLearner') {
    if (voters.size === 1 && voters.has(cc.nodeId)) return 'removing the last voter';
  }
  return undefined;
}

/**
 * Applies a single-member change to the tracker. New members get a fresh
 * Progress starting at nextIndex. Returns false if the change was invalid and
 * nothing changed.
 */
export function applyToTracker(trk: ProgressTracker, cc: ConfChange, nextIndex: number): boolean {
  if (validateConfChange(trk.voters, cc) !== undefined) return false;
  const id = cc.nodeId;
  switch (cc.type) {
    case 'addNode': {
      if (trk.voters.has(id)) return true;
      const pr = trk.progress.get(id);
      if (pr !== undefined) {
        // promote a learner
        pr.isLearner = false;
        trk.learners.delete(id);
      } else {
        trk.progress.set(id, trk.newProgress(nextIndex, false));
      }
      trk.voters.add(id);
      return true;
    }
    case 'addLearner': {
      if (trk.learners.has(id)) return true;
      const pr = trk.progress.get(id);
      if (pr !== undefined) {
        // demote a voter
        pr.isLearner = true;
        trk.voters.delete(id);
      } else {
        trk.progress.set(id, trk.newProgress(nextIndex, true));
      }
      trk.learners.add(id);
      return true;
    }
    case 'removeNode': {
      trk.voters.delete(id);
      trk.learners.delete(id);
      trk.progress.delete(id);
      return true;
    }
  }
}

/** Builds a tracker's configuration from a ConfState (on start-up or snapshot restore). */
export function restoreTracker(trk: ProgressTracker, cs: ConfState, nextIndex: number): void {
  trk.voters = new Set();
  trk.learners = new Set();
  trk.progress = new Map();
  for (const id of cs.voters) {
    trk.voters.add(id);
    trk.progress.set(id, trk.newProgress(nextIndex, false));
  }
  for (const id of cs.learners) {
    if (trk.voters.has(id)) throw new Error(`${id} is in voters and learners`);
    trk.learners.add(id);
    trk.progress.set(id, trk.newProgress(nextIndex, true));
  }
}

/** The ConfState after applying cc to cs (pure; used by applications and tests). */
export function confStateAfter(cs: ConfState, cc: ConfChange): ConfState {
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  if (validateConfChange(voters, cc) !== undefined) return { voters: [...cs.voters], learners: [...cs.learners] };
  const id = cc.nodeId;
  if (cc.type === 'addNode') {
    learners.delete(id);
    voters.add(id);
  } else if (cc.type === 'addLearner') {
    voters.delete(id);
    learners.add(id);
  } else {
    voters.delete(id);
    learners.delete(id);
  }
  return { voters: [...voters].sort(), learners: [...learners].sort() };
}
