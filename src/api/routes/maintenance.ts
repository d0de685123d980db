import type { Hono } from 'hono';
import type { Member } from '../../server/member.ts';
import { MoveLeaderRequestDesc, StatusRequestDesc } from '../json/cluster-messages.ts';
import { moveLeaderResponse, statusResponse } from '../json/cluster-responses.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';
import { VERSION } from '../version.ts';

/** /v3/maintenance/status and /v3/maintenance/transfer-leadership. */
export function maintenanceRoutes(app: Hono, g: GatewayContext, member: Member): void {
  gatewayRoute<object>(app, '/maintenance/status', g, {
    desc: StatusRequestDesc,
    raft: false,
    auth: false,
    async handle() {
      const st = await member.maintenance.status();
      return statusResponse(st.revision, g.headerInfo(), { ...st, version: VERSION.etcdserver });
    },
  });
  gatewayRoute<{ targetID: bigint }>(app, '/maintenance/transfer-leadership', g, {
    desc: MoveLeaderRequestDesc,
    raft: false,
    auth: false,
    async handle(req, _c, _enc, ai) {
      await member.maintenance.moveLeader(req.targetID, ai);
      return moveLeaderResponse();
    },
  });
}
