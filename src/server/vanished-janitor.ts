import { lookup as dnsLookup } from 'node:dns/promises';
import type { Logger } from '../logging/logger.ts';
import type { Member } from './member.ts';
import { type HostLookup, peerHostName, VanishedMembers } from './vanished-members.ts';

/** What DNS says of a host name now. */
async function lookupHost(host: string): Promise<HostLookup> {
  try {
    await dnsLookup(host);
    return 'found';
  } catch (err) {
    return (err as { code?: string }).code === 'ENOTFOUND' ? 'gone' : 'unknown';
  }
}

/**
 * --remove-vanished-members-after: the leader looks up every member's peer host name and removes
 * one that stayed gone for the whole grace period (etcd's reconfiguration checks still apply).
 */
export function startVanishedJanitor(m: Member, graceMs: number, log: Logger): NodeJS.Timeout {
  const vanished = new VanishedMembers(graceMs);
  let busy = false;
  const t = setInterval(async () => {
    if (busy || !m.isLeader) return;
    busy = true;
    try {
      const members = [...m.members.values()];
      const lookups = new Map<bigint, HostLookup>();
      await Promise.all(
        members.map(async (mm) => {
          const host = peerHostName(mm);
          lookups.set(mm.id, host ? await lookupHost(host) : 'found');
        }),
      );
      for (const id of vanished.observe(members, m.memberId, lookups, Date.now())) {
        try {
          await m.cluster.removeVanished(id);
          log.warn({ 'removed-member-id': id.toString(16), 'gone-for-s': Math.round(graceMs / 1000) }, 'removed a member whose host name no longer resolves');
        } catch (err) {
          log.warn({ 'member-id': id.toString(16), error: (err as Error).message }, 'could not remove a vanished member');
        }
      }
    } finally {
      busy = false;
    }
  }, Math.min(30_000, Math.max(1000, graceMs / 4)));
  t.unref();
  return t;
}
