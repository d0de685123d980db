import { describeOp, type Anomaly } from './check-registers.ts';
import { LEASE_PREFIX, REGISTER_PREFIX, type History, type KvOp, type Value, AUTH_PROBE_PREFIXES, COORDINATION_PREFIXES } from './history.ts';
import { eventText, Reference } from './reference.ts';

/**
 * Checks that tie client answers, revisions and each member's final state together:
 *
 * - agreement: every member reports the same history (every event since revision 1) and the same
 *   key space at the final revision, and that key space is what the history adds up to;
 * - revisions: each answer's revision is consistent with the history (a put answered at revision r
 *   is the event at r, with the prev_kv it reported; a read at r saw the key's state at r; a
 *   serializable read too, since it reads some member's applied, hence committed, state); no
 *   event appears that no client asked for, none twice; and revisions follow real time: an
 *   operation invoked after another completed never answers an older revision (a stale read);
 * - durability: every acknowledged write is in the history at its revision, and, without using
 *   revisions at all, each key's final value comes from a write not known to precede an
 *   acknowledged write of that key (else that acknowledged write was lost).
 */

const same = (a: Value | undefined, b: Value) => (a ?? null) === b;

export function referenceOf(history: History): { ref?: Reference; anomalies: Anomaly[] } {
  const anomalies: Anomaly[] = [];
  const hs = history.finalHistories ?? [];
  const finalRev = history.finalRevision ?? 0;
  const texts = hs.map((h) => h?.map(eventText));
  const first = texts.findIndex((t) => t !== undefined);
  if (first < 0) return { anomalies: [{ checker: 'agreement', message: 'no member reported its history at the end' }] };
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (!t) {
      anomalies.push({ checker: 'agreement', message: `member ${i} did not report its history at the end` });
      continue;
    }
    if (i === first) continue;
    const base = texts[first]!;
    const n = Math.max(t.length, base.length);
    for (let k = 0; k < n; k++) {
      if (t[k] !== base[k]) {
        anomalies.push({
          checker: 'agreement',
          message: `members ${first} and ${i} disagree on the history at event ${k}`,
          details: [`m${first}: ${base[k] ?? '(end)'}`, `m${i}: ${t[k] ?? '(end)'}`, `(m${first} has ${base.length} events, m${i} ${t.length})`],
        });
        break;
      }
    }
  }
  const ref = new Reference(hs[first]!, finalRev);
  // Revisions only go up, one at a time per write, each event tagged with its own revision.
  let prevRev = 0;
  for (const e of ref.events) {
    if (e.rev < prevRev) anomalies.push({ checker: 'agreement', message: `history goes back from revision ${prevRev} to ${e.rev}` });
    if (e.type === 'PUT' && e.mod !== e.rev) anomalies.push({ checker: 'agreement', message: `event at revision ${e.rev} has mod_revision ${e.mod}` });
    prevRev = e.rev;
  }
  // The key space each member reports at the final revision is what the history adds up to.
  const want = ref.snapshotAt(finalRev);
  (history.finalRanges ?? []).forEach((range, i) => {
    if (!range) {
      anomalies.push({ checker: 'agreement', message: `member ${i} did not answer a range at the final revision ${finalRev}` });
      return;
    }
    const diffs: string[] = [];
    for (const [k, s] of want) {
      const got = range[k];
      if (!got || got.value !== s.value || got.mod !== s.mod || got.create !== s.create || got.version !== s.version) {
        diffs.push(`${k}: history says ${s.value}@${s.mod} c${s.create} v${s.version}, member has ${got ? `${got.value}@${got.mod} c${got.create} v${got.version}` : 'nothing'}`);
      }
    }
    for (const k of Object.keys(range)) if (!want.has(k)) diffs.push(`${k}: member has ${range[k].value}@${range[k].mod}, history says it does not exist`);
    if (diffs.length) anomalies.push({ checker: 'agreement', message: `member ${i}'s key space at revision ${finalRev} differs from the history`, details: diffs.slice(0, 20) });
  });
  return { ref, anomalies };
}

/** Did this completed operation create a revision? */
const created = (op: KvOp) => op.kind === 'put' || (op.kind === 'cas' && op.ok === true) || (op.kind === 'delete' && (op.deleted ?? 0) > 0);

export function checkRevisions(history: History, ref: Reference): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const bad = (op: KvOp, message: string, details?: string[]) =>
    anomalies.push({ checker: 'revisions', key: op.key, message: `${describeOp(op)}: ${message}`, details });
  const done = history.ops.filter((o) => o.ret !== undefined && o.rev !== undefined);

  for (const op of done) {
    const rev = op.rev!;
    if (rev > ref.finalRevision) {
      bad(op, `answered revision ${rev}, beyond the final revision ${ref.finalRevision}`);
      continue;
    }
    const before = (key: string) => ref.stateAt(key, rev - 1);
    if (created(op)) {
      const e = ref.eventAt(op.key, rev);
      const wantType = op.kind === 'delete' ? 'DELETE' : 'PUT';
      if (!e) bad(op, `no event on ${op.key} at revision ${rev} in the history`);
      else if (e.type !== wantType || (wantType === 'PUT' && e.value !== op.value)) bad(op, `the history has ${eventText(e)} at its revision`);
      else if (!same(op.prev, before(op.key).value)) bad(op, `reported prev ${op.prev ?? '∅'}, the history had ${before(op.key).value ?? '∅'} before revision ${rev}`);
    } else if (op.kind === 'delete' || (op.kind === 'cas' && op.ok === false) || op.kind === 'get' || op.kind === 'sget') {
      const s = ref.stateAt(op.key, rev);
      const read = op.kind === 'delete' ? null : (op.read ?? null);
      if (s.value !== read || (op.kind !== 'delete' && (op.readMod ?? 0) !== s.mod)) {
        bad(op, `read ${read ?? '∅'}${op.readMod ? `@${op.readMod}` : ''} at revision ${rev}, but the history has ${s.value ?? '∅'}${s.mod ? `@${s.mod}` : ''} there`);
      }
    } else if (op.kind === 'range' || op.kind === 'srange') {
      const want = ref.snapshotAt(rev, op.key);
      const got = op.kvs ?? {};
      const diffs: string[] = [];
      for (const [k, s] of want) if (got[k]?.value !== s.value || got[k]?.mod !== s.mod) diffs.push(`${k}: history ${s.value}@${s.mod}, read ${got[k] ? `${got[k].value}@${got[k].mod}` : 'nothing'}`);
      for (const k of Object.keys(got)) if (!want.has(k)) diffs.push(`${k}: read ${got[k].value}@${got[k].mod}, history has nothing`);
      if (diffs.length) bad(op, `is not the key space at revision ${rev}`, diffs.slice(0, 10));
    }
  }

  // Every event comes from a write some client made, and no write lands twice.
  const written = new Map<string, KvOp>();
  const deletes = new Map<string, number>();
  for (const op of history.ops) {
    if ((op.kind === 'put' || op.kind === 'cas') && op.value !== undefined) written.set(op.value, op);
    if (op.kind === 'delete') deletes.set(op.key, (deletes.get(op.key) ?? 0) + 1);
  }
  const landed = new Set<string>();
  const deleteEvents = new Map<string, number>();
  for (const e of ref.events) {
    if (AUTH_PROBE_PREFIXES.some((p) => e.key.startsWith(p))) continue;
    // Locks' and elections' keys are written by the members themselves (and checked in check-coord.ts).
    if (COORDINATION_PREFIXES.some((p) => e.key.startsWith(p))) continue;
    if (e.type === 'PUT') {
      const w = written.get(e.value);
      if (!w || w.key !== e.key) anomalies.push({ checker: 'revisions', key: e.key, message: `phantom write: ${eventText(e)} was never asked for` });
      else if (landed.has(e.value)) anomalies.push({ checker: 'revisions', key: e.key, message: `write applied twice: ${eventText(e)}` });
      landed.add(e.value);
    } else if (!e.key.startsWith(LEASE_PREFIX)) {
      const n = (deleteEvents.get(e.key) ?? 0) + 1;
      deleteEvents.set(e.key, n);
      if (n > (deletes.get(e.key) ?? 0)) anomalies.push({ checker: 'revisions', key: e.key, message: `phantom delete: ${eventText(e)} (only ${deletes.get(e.key) ?? 0} deletes were asked for)` });
    }
  }

  // Real time: whatever completed before an operation began, the operation's revision is at least as
  // new (and newer still if it wrote). Serializable reads promise nothing of the kind.
  const lin = done.filter((o) => o.kind !== 'sget' && o.kind !== 'srange');
  const byRet = [...lin].sort((a, b) => a.ret! - b.ret!);
  const byCall = [...lin].sort((a, b) => a.call - b.call);
  let i = 0;
  let maxOp: KvOp | undefined;
  let reported = 0;
  for (const op of byCall) {
    while (i < byRet.length && byRet[i].ret! < op.call) {
      if (!maxOp || byRet[i].rev! > maxOp.rev!) maxOp = byRet[i];
      i++;
    }
    if (!maxOp) continue;
    const need = created(op) ? maxOp.rev! + 1 : maxOp.rev!;
    if (op.rev! < need && reported++ < 50) {
      const kind = op.kind === 'get' || op.kind === 'range' ? 'stale read' : 'write ordered before an earlier one';
      anomalies.push({
        checker: 'revisions',
        key: op.key,
        message: `${kind}: ${describeOp(op)} answered revision ${op.rev}, but ${describeOp(maxOp)} had completed at revision ${maxOp.rev} before it was invoked`,
      });
    }
  }
  return anomalies;
}

export function checkDurability(history: History, ref: Reference | undefined): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const acked = history.ops.filter((o) => o.ret !== undefined && created(o));
  // With revisions: each acknowledged write is in the history at its revision (checked in detail
  // by checkRevisions); here, a compact count of what is missing.
  if (ref) {
    const missing = acked.filter((op) => {
      const e = ref.eventAt(op.key, op.rev!);
      return !e || (op.kind !== 'delete' && e.value !== op.value);
    });
    if (missing.length) {
      anomalies.push({
        checker: 'durability',
        message: `${missing.length} acknowledged writes are not in the final history at their revision`,
        details: missing.slice(0, 10).map((o) => describeOp(o)),
      });
    }
  }
  // Without revisions: the final value of each key, read by the harness after every fault healed.
  const finals = new Map<string, KvOp>();
  for (const op of history.ops) {
    if (op.client === -1 && op.kind === 'get' && op.ret !== undefined && op.key.startsWith(REGISTER_PREFIX)) {
      const f = finals.get(op.key);
      if (!f || op.ret > f.ret!) finals.set(op.key, op);
    }
  }
  const byValue = new Map<string, KvOp>();
  for (const op of history.ops) if ((op.kind === 'put' || op.kind === 'cas') && op.value) byValue.set(op.value, op);
  const retOf = (op: KvOp) => op.ret ?? Infinity;
  for (const [key, fin] of finals) {
    const final = fin.read ?? null;
    const writes = history.ops.filter((o) => o.key === key && (o.kind === 'put' || o.kind === 'cas' || o.kind === 'delete') && o.call < fin.call);
    const ackedHere = writes.filter((o) => o.ret !== undefined && created(o));
    // Candidates that may have produced the final value.
    const sources = final === null ? writes.filter((o) => o.kind === 'delete') : [byValue.get(final)].filter((o): o is KvOp => o !== undefined && o.key === key);
    if (final !== null && sources.length === 0) {
      anomalies.push({ checker: 'durability', key, message: `${key}: final value ${final} was never written` });
      continue;
    }
    if (final === null && ackedHere.length > 0 && sources.length === 0) {
      anomalies.push({ checker: 'durability', key, message: `${key}: acknowledged writes, never deleted, but the key is gone at the end`, details: ackedHere.slice(-3).map((o) => describeOp(o)) });
      continue;
    }
    // The final value's write must not be known to precede some acknowledged write: had that write
    // survived, it (or something after it) would be the final value.
    const lost = ackedHere.filter((w) => !sources.some((s) => s === w || retOf(s) >= w.call));
    if (lost.length) {
      const latest = lost.reduce((a, b) => (a.ret! > b.ret! ? a : b));
      anomalies.push({
        checker: 'durability',
        key,
        message: `${key}: acknowledged write lost: the final value ${final ?? '∅'} was written before ${describeOp(latest)} was even invoked`,
        details: [`final read: ${describeOp(fin)}`, ...sources.slice(-3).map((s) => `source: ${describeOp(s)}`)],
      });
    }
  }
  return anomalies;
}
