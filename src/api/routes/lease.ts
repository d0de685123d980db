import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import type { LeaseGrantResult, Member } from '../../server/member.ts';
import { header, headerOnly } from '../json/encode.ts';
import { LeaseGrantRequestDesc, LeaseLeasesRequestDesc, LeaseRevokeRequestDesc, LeaseTimeToLiveRequestDesc } from '../json/lease-messages.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';
import { leaseKeepAliveRoute } from './lease-keepalive.ts';

/** A fresh positive int64 lease id, as etcd's request id generator gives one when the client asks for 0. */
function newLeaseId(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn;
    if (id !== 0n) return id;
  }
}

/** /v3/lease/*: grant, revoke, keep-alive, time-to-live and the list of leases. */
export function leaseRoutes(app: Hono, g: GatewayContext, member: Member): void {
  leaseKeepAliveRoute(app, g, member);
  gatewayRoute<{ TTL: number; ID: bigint }>(app, '/lease/grant', g, {
    desc: LeaseGrantRequestDesc,
    raft: true,
    async handle(req) {
      const ID = req.ID === 0n ? newLeaseId() : req.ID;
      const a = await member.propose<LeaseGrantResult>({ leaseGrant: { ID, TTL: req.TTL } });
      const r = a.resp;
      return `{"header":${header(r.header, g.headerInfo())},"ID":"${r.ID}","TTL":"${r.TTL}"}`;
    },
  });
  for (const path of ['/lease/revoke', '/kv/lease/revoke']) {
    gatewayRoute<{ ID: bigint }>(app, path, g, {
      desc: LeaseRevokeRequestDesc,
      raft: true,
      async handle(req) {
        const a = await member.propose<{ header: { revision: number } }>({ leaseRevoke: { ID: req.ID } });
        return headerOnly(a.resp.header, g.headerInfo());
      },
    });
  }
  for (const path of ['/lease/timetolive', '/kv/lease/timetolive']) {
    gatewayRoute<{ ID: bigint; keys: boolean }>(app, path, g, {
      desc: LeaseTimeToLiveRequestDesc,
      raft: false,
      async handle(req) {
        const t = await member.leaseTimeToLive(req.ID);
        const parts = [`"header":${header({ revision: member.kv.currentRev }, g.headerInfo())}`];
        if (req.ID !== 0n) parts.push(`"ID":"${req.ID}"`);
        if (t.ttl !== 0) parts.push(`"TTL":"${t.ttl}"`);
        if (t.granted !== 0) parts.push(`"grantedTTL":"${t.granted}"`);
        if (req.keys && t.keys.length) parts.push(`"keys":[${t.keys.map((k) => `"${Buffer.from(k, 'latin1').toString('base64')}"`).join(',')}]`);
        return `{${parts.join(',')}}`;
      },
    });
  }
  for (const path of ['/lease/leases', '/kv/lease/leases']) {
    gatewayRoute<object>(app, path, g, {
      desc: LeaseLeasesRequestDesc,
      raft: false,
      async handle() {
        const ids = await member.read(false, () => [...member.lessor.leases.keys()]);
        const h = header({ revision: member.kv.currentRev }, g.headerInfo());
        return ids.length ? `{"header":${h},"leases":[${ids.map((id) => `{"ID":"${id}"}`).join(',')}]}` : `{"header":${h}}`;
      },
    });
  }
}
