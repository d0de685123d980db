import type { Hono } from 'hono';
import type { Member } from '../../server/member.ts';
import { LeaseGrantRequestDesc, LeaseLeasesRequestDesc, LeaseRevokeRequestDesc, LeaseTimeToLiveRequestDesc } from '../json/lease-messages.ts';
import { leaseGrantResponse, leaseLeasesResponse, leaseRevokeResponse, leaseTimeToLiveResponse } from '../json/lease-responses.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';
import type { OpenStreams } from '../streams.ts';
import { leaseKeepAliveRoute } from './lease-keepalive.ts';

/** /v3/lease/*: grant, revoke, keep-alive, time-to-live and the list of leases. */
export function leaseRoutes(app: Hono, g: GatewayContext, member: Member, streams: OpenStreams): void {
  leaseKeepAliveRoute(app, g, member, streams);
  gatewayRoute<{ TTL: number; ID: bigint }>(app, '/lease/grant', g, {
    desc: LeaseGrantRequestDesc,
    raft: true,
    auth: true,
    async handle(req, _c, _enc, ai) {
      const resp = await member.leases.grant(req.ID, req.TTL, ai);
      return leaseGrantResponse(resp.header.revision, g.headerInfo(), resp.ID, resp.TTL);
    },
  });
  for (const path of ['/lease/revoke', '/kv/lease/revoke']) {
    gatewayRoute<{ ID: bigint }>(app, path, g, {
      desc: LeaseRevokeRequestDesc,
      raft: true,
      auth: true,
      async handle(req, _c, _enc, ai) {
        const resp = await member.leases.revoke(req.ID, ai);
        return leaseRevokeResponse(resp.header.revision, g.headerInfo());
      },
    });
  }
  for (const path of ['/lease/timetolive', '/kv/lease/timetolive']) {
    gatewayRoute<{ ID: bigint; keys: boolean }>(app, path, g, {
      desc: LeaseTimeToLiveRequestDesc,
      raft: false,
      // etcd 3.4.23 answers a time-to-live without asking who is calling; edgecd asks when the keys
      // are wanted, to show them only to whoever may read them (etcd's fix of CVE-2023-32082, 3.4.26).
      auth: (req) => req.keys,
      async handle(req, _c, enc, ai) {
        const t = await member.leases.timeToLive(req.ID, req.keys ? ai : undefined);
        return leaseTimeToLiveResponse(member.revision, g.headerInfo(), req.ID, t.ttl, t.granted, req.keys ? t.keys : [], enc);
      },
    });
  }
  for (const path of ['/lease/leases', '/kv/lease/leases']) {
    gatewayRoute<object>(app, path, g, {
      desc: LeaseLeasesRequestDesc,
      raft: false,
      auth: false,
      async handle() {
        const ids = await member.leases.list();
        return leaseLeasesResponse(member.revision, g.headerInfo(), ids);
      },
    });
  }
}
