import type { MemberRow } from '../storage/rows.ts';

/** What a look-up of a member's peer host name found: there, gone for sure (NXDOMAIN), or no answer (DNS trouble: says nothing). */
export type HostLookup = 'found' | 'gone' | 'unknown';

/**
 * Members whose machine was destroyed (a scale-down on Fly: its <machine id>.vm.<app>.internal
 * name stops resolving) and that stayed gone for the whole grace period. Only a definite "gone"
 * counts: a DNS failure or a host that comes back starts the wait over. Host names that are IP
 * addresses never vanish. Pure: the looks-ups and the time are handed in.
 */
export class VanishedMembers {
  private readonly goneSince = new Map<bigint, number>();

  constructor(private readonly graceMs: number) {}

  /** Records one round of look-ups; answers the members gone for at least the grace period. */
  observe(members: Iterable<MemberRow>, self: bigint, lookups: Map<bigint, HostLookup>, now: number): bigint[] {
    const out: bigint[] = [];
    const seen = new Set<bigint>();
    for (const m of members) {
      seen.add(m.id);
      if (m.id === self) continue;
      const l = lookups.get(m.id) ?? 'unknown';
      if (l !== 'gone') {
        this.goneSince.delete(m.id);
        continue;
      }
      const since = this.goneSince.get(m.id) ?? now;
      this.goneSince.set(m.id, since);
      if (now - since >= this.graceMs) out.push(m.id);
    }
    for (const id of this.goneSince.keys()) if (!seen.has(id)) this.goneSince.delete(id);
    return out;
  }
}

/** The host name a member's peer URLs name, if it is a name (an IP address never vanishes). */
export function peerHostName(m: MemberRow): string | undefined {
  for (const u of m.peerUrls) {
    let host: string;
    try {
      host = new URL(u).hostname.replace(/^\[|\]$/g, '');
    } catch {
      continue;
    }
    if (/^[\d.]+$/.test(host) || host.includes(':')) continue;
    return host;
  }
  return undefined;
}
