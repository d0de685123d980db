import type { Anomaly } from './check-registers.ts';
import type { WatcherRecord } from './history.ts';
import { eventText, type Reference } from './reference.ts';

/**
 * Watch guarantees, against the agreed history: each watcher (all keys, with prev_kv) resumes
 * after every broken stream from the revision after the last event it got (an SSE watcher: after
 * its Last-Event-ID, which promises every event up to it), possibly on another member; across all its sessions it must receive exactly the history's events from its start
 * revision on: in revision order, none missing, none twice, each as the history has it (value,
 * revisions, version, prev_kv). A watcher whose last stream was still open at the end must have
 * caught up with the final revision.
 */
/** Where a session's stream went: a member, or a proxy (which picked the member). */
const where = (s: WatcherRecord['sessions'][number]) => (s.proxy !== undefined ? `proxy p${s.proxy}` : `member ${s.member}`);

export function checkWatchers(watchers: WatcherRecord[], ref: Reference): { anomalies: Anomaly[]; events: number } {
  const anomalies: Anomaly[] = [];
  let events = 0;
  const all = ref.events;
  for (const w of watchers) {
    const tag = `watcher ${w.id}`;
    let problems = 0;
    const report = (message: string, details?: string[]) => {
      if (problems++ < 3) anomalies.push({ checker: 'watch', message: `${tag}: ${message}`, details });
    };
    // Where the history should continue from, and the index into it.
    let nextRev = 0;
    let pos = -1;
    let lastRev = 0;
    for (const [si, s] of w.sessions.entries()) {
      if (s.created === undefined && s.events.length === 0) continue;
      const start = s.start > 0 ? s.start : (s.created ?? 0) + 1;
      if (si === 0 || pos < 0) {
        nextRev = start;
        pos = all.findIndex((e) => e.rev >= start);
        if (pos < 0) pos = all.length;
      } else if (s.start > 0 && s.start < nextRev) {
        // The harness asks to resume right after what it has; anything earlier is our bug.
        report(`session ${si} resumed at ${s.start}, before ${nextRev} (harness error)`);
      } else if (s.start > nextRev) {
        // An SSE stream resumes after its Last-Event-ID, which promises every event up to it: the
        // history must have none in between.
        const skipped = all.slice(pos).filter((e) => e.rev < s.start);
        if (skipped.length) {
          report(`missed ${skipped.length} events: resumed at ${s.start} (session ${si}, ${where(s)}) though the last event seen was at ${nextRev - 1}`, skipped.slice(0, 5).map((x) => `missing: ${eventText(x)}`));
        }
        pos += skipped.length;
        nextRev = s.start;
      } else if (s.start === 0) {
        report(`session ${si} resumed without a start revision (harness error)`);
      }
      for (const e of s.events) {
        // Beyond what the history was read up to: nothing to compare with.
        if (e.rev > ref.finalRevision) break;
        events++;
        const got = eventText(e);
        if (e.rev < lastRev) {
          report(`events out of order: revision ${e.rev} after ${lastRev} (session ${si}, ${where(s)})`, [got]);
          continue;
        }
        const want = pos < all.length ? all[pos] : undefined;
        const wantText = want ? eventText(want) : undefined;
        if (got === wantText) {
          pos++;
          lastRev = e.rev;
          nextRev = e.rev + 1;
          continue;
        }
        // Classify the mismatch.
        const prior = all.slice(Math.max(0, pos - 64), pos).some((x) => eventText(x) === got);
        if (prior) report(`duplicate event (session ${si}, ${where(s)}): ${got}`);
        else if (want && e.rev > want.rev && all.slice(pos, pos + 100000).some((x) => eventText(x) === got)) {
          const skip = all.slice(pos).findIndex((x) => eventText(x) === got);
          report(`missed ${skip} events before revision ${e.rev} (session ${si}, ${where(s)})`, all.slice(pos, pos + Math.min(skip, 5)).map((x) => `missing: ${eventText(x)}`));
          pos += skip + 1;
        } else {
          report(`event differs from the history (session ${si}, ${where(s)})`, [`got:      ${got}`, `expected: ${wantText ?? '(no more events)'}`]);
          if (want && want.rev === e.rev) pos++;
        }
        lastRev = e.rev;
        nextRev = e.rev + 1;
      }
      if (s.canceled) report(`canceled by the server: ${s.canceled} (session ${si}, ${where(s)})`);
    }
    const lastSession = w.sessions[w.sessions.length - 1];
    const openAtEnd = lastSession && lastSession.endReason === 'harness stopped';
    if (openAtEnd && pos >= 0 && pos < all.length) {
      report(`fell behind: had ${pos} of ${all.length} history events when the run ended (last at revision ${lastRev}, history up to ${ref.lastRev})`);
    }
    if (problems > 3) anomalies.push({ checker: 'watch', message: `${tag}: ${problems - 3} more problems` });
  }
  return { anomalies, events };
}
