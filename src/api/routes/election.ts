import type { Hono } from 'hono';
import type { ElectionService, LeaderKey } from '../../server/member.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';
import { CampaignRequestDesc, LeaderRequestDesc, ProclaimRequestDesc, ResignRequestDesc } from '../json/concurrency-messages.ts';
import { campaignResponse, leaderResponse } from '../json/concurrency-responses.ts';
import { headerOnly } from '../json/encode.ts';
import type { OpenStreams } from '../streams.ts';
import { callerOf, waiting } from './lock.ts';
import { observeRoutes } from './election-observe.ts';

/** /v3/election/*: etcd's v3election service (observe: election-observe.ts). */
export function electionRoutes(app: Hono, g: GatewayContext, elections: ElectionService, streams: OpenStreams): void {
  gatewayRoute<{ name: string; lease: bigint; value: string }>(app, '/election/campaign', g, {
    desc: CampaignRequestDesc,
    raft: true,
    auth: false,
    async handle(req, c, enc) {
      const ai = await callerOf(c);
      const r = await waiting(c, streams, (signal) => elections.campaign(req.name, req.lease, req.value, ai, signal));
      return campaignResponse(r.header, g.headerInfo(), r.leader, enc);
    },
  });
  gatewayRoute<{ leader?: LeaderKey; value: string }>(app, '/election/proclaim', g, {
    desc: ProclaimRequestDesc,
    raft: true,
    auth: false,
    async handle(req, c) {
      const r = await elections.proclaim(req.leader, req.value, await callerOf(c));
      return headerOnly(r.header, g.headerInfo());
    },
  });
  gatewayRoute<{ name: string }>(app, '/election/leader', g, {
    desc: LeaderRequestDesc,
    raft: false,
    auth: false,
    async handle(req, c, enc) {
      const r = await elections.leader(req.name, await callerOf(c));
      return leaderResponse(r.header, g.headerInfo(), r.kv, enc);
    },
  });
  gatewayRoute<{ leader?: LeaderKey }>(app, '/election/resign', g, {
    desc: ResignRequestDesc,
    raft: true,
    auth: false,
    async handle(req, c) {
      const r = await elections.resign(req.leader, await callerOf(c));
      return headerOnly(r.header, g.headerInfo());
    },
  });
  observeRoutes(app, g, elections, streams);
}
