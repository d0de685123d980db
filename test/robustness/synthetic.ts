import { Rng } from '../watch/model.ts';
import { REGISTER_PREFIX, type History, type KvOp, type Value, type WatchEvent, type WatcherRecord } from './history.ts';

/**
 * Correct histories made up in memory, for testing the checkers: clients whose operations take
 * effect at a random moment between invocation and completion on one revisioned store, some
 * completing unseen (timed out, applied or not), watchers that see the store's events through
 * broken-up sessions, members that all report the same final history. Tests then break one thing
 * and expect the checkers to notice.
 */

interface Live {
  value: string;
  mod: number;
  create: number;
  version: number;
}

export interface SyntheticOptions {
  clients?: number;
  keys?: number;
  ops?: number;
  unknownRate?: number;
  watchers?: number;
  members?: number;
}

export function syntheticHistory(seed: number, o: SyntheticOptions = {}): History {
  const rng = new Rng(seed);
  const nClients = o.clients ?? 5;
  const keys = Array.from({ length: o.keys ?? 3 }, (_, i) => `${REGISTER_PREFIX}${i}`);
  const nOps = o.ops ?? 300;
  const members = o.members ?? 3;
  const unknownRate = o.unknownRate ?? 0.05;

  // Plan: each client issues operations back to back; each takes effect at a point inside its window.
  type Planned = { op: KvOp; at: number; applies: boolean };
  const planned: Planned[] = [];
  const clientTime = Array.from({ length: nClients }, () => rng.int(5));
  let id = 0;
  let valueSeq = 0;
  for (let n = 0; n < nOps; n++) {
    const c = n % nClients;
    const call = clientTime[c] + rng.int(3);
    const at = call + 1 + rng.int(10);
    const ret = at + 1 + rng.int(10);
    clientTime[c] = ret;
    const key = rng.pick(keys);
    const r = rng.float();
    const kind = r < 0.3 ? 'put' : r < 0.45 ? 'cas' : r < 0.52 ? 'delete' : r < 0.9 ? 'get' : r < 0.95 ? 'sget' : 'range';
    const op: KvOp = { id: id++, client: c, member: rng.int(members), kind, key: kind === 'range' ? REGISTER_PREFIX : key, call, ret };
    if (kind === 'put' || kind === 'cas') op.value = `c${c}-${valueSeq++}`;
    const unknown = (kind === 'put' || kind === 'cas' || kind === 'delete') && rng.chance(unknownRate);
    planned.push({ op, at, applies: unknown ? rng.chance(0.5) : true });
    if (unknown) op.error = 'timed out';
  }
  planned.sort((a, b) => a.at - b.at);

  // Apply in linearization order.
  const state = new Map<string, Live>();
  const events: WatchEvent[] = [];
  let rev = 1;
  // What each client last saw of each key: CAS expects it.
  const seen = new Map<string, Value>();
  const read = (k: string): Value => state.get(k)?.value ?? null;
  for (const p of planned) {
    const op = p.op;
    if (op.kind === 'cas') op.expect = seen.get(`${op.client}|${op.key}`) ?? (rng.chance(0.5) ? read(op.key) : null);
    if (!p.applies) {
      op.ret = undefined;
      continue;
    }
    const cur = state.get(op.key);
    const write = (value: string) => {
      rev++;
      const next: Live = { value, mod: rev, create: cur ? cur.create : rev, version: (cur?.version ?? 0) + 1 };
      state.set(op.key, next);
      events.push({ rev, type: 'PUT', key: op.key, value, create: next.create, mod: rev, version: next.version, prev: cur?.value ?? null, lease: '' });
    };
    switch (op.kind) {
      case 'put':
        op.prev = cur?.value ?? null;
        write(op.value!);
        break;
      case 'cas':
        if ((cur?.value ?? null) === op.expect) {
          op.ok = true;
          op.prev = cur?.value ?? null;
          write(op.value!);
        } else {
          op.ok = false;
          op.read = cur?.value ?? null;
          op.readMod = cur?.mod ?? 0;
        }
        break;
      case 'delete':
        op.prev = cur?.value ?? null;
        op.deleted = cur ? 1 : 0;
        if (cur) {
          rev++;
          state.delete(op.key);
          events.push({ rev, type: 'DELETE', key: op.key, value: '', create: 0, mod: rev, version: 0, prev: cur.value, lease: '' });
        }
        break;
      case 'get':
      case 'sget':
        op.read = cur?.value ?? null;
        op.readMod = cur?.mod ?? 0;
        break;
      case 'range':
        op.kvs = Object.fromEntries([...state].sort().map(([k, v]) => [k, { value: v.value, mod: v.mod }]));
        break;
    }
    op.rev = rev;
    if (op.error && op.ret !== undefined) op.ret = undefined;
    for (const v of [op.prev, op.read]) if (v !== undefined) seen.set(`${op.client}|${op.key}`, v);
  }

  const ops = planned.map((p) => p.op).sort((a, b) => a.id - b.id);
  // Final reads by the harness, after everything.
  const end = Math.max(...ops.map((o) => o.ret ?? o.call)) + 10;
  for (const [i, key] of keys.entries()) {
    const cur = state.get(key);
    ops.push({ id: id++, client: -1, member: i % members, kind: 'get', key, call: end + i * 2, ret: end + i * 2 + 1, read: cur?.value ?? null, readMod: cur?.mod ?? 0, rev });
  }

  // Watchers from random revisions, their streams broken at random events and resumed.
  const watchers: WatcherRecord[] = [];
  for (let w = 0; w < (o.watchers ?? 3); w++) {
    const start = 1 + rng.int(Math.max(1, rev - 1));
    const mine = events.filter((e) => e.rev >= start);
    const rec: WatcherRecord = { id: w, start, sessions: [] };
    let from = start;
    let i = 0;
    while (i < mine.length || rec.sessions.length === 0) {
      const n = Math.min(mine.length - i, 1 + rng.int(40));
      rec.sessions.push({ member: rng.int(members), start: from, call: 0, created: rev, events: mine.slice(i, i + n), endReason: 'stream ended' });
      i += n;
      if (n > 0) from = mine[i - 1].rev + 1;
      if (n === 0) break;
    }
    rec.sessions[rec.sessions.length - 1].endReason = 'harness stopped';
    watchers.push(rec);
  }

  const finalRange = Object.fromEntries([...state].map(([k, v]) => [k, { value: v.value, mod: v.mod, create: v.create, version: v.version }]));
  return {
    seed,
    members,
    keys,
    electionTimeoutMs: 1000,
    ops,
    watchers,
    leases: [],
    faults: [],
    leaderChanges: [],
    finalHistories: Array.from({ length: members }, () => events.map((e) => ({ ...e }))),
    finalRevision: rev,
    finalRanges: Array.from({ length: members }, () => structuredClone(finalRange)),
    notes: [],
  };
}
