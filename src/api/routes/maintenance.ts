import type { Hono } from 'hono';
import type { Member } from '../../server/member.ts';
import { AlarmRequestDesc, DefragmentRequestDesc, HashKVRequestDesc, HashRequestDesc, MoveLeaderRequestDesc, StatusRequestDesc } from '../json/cluster-messages.ts';
import { alarmResponse, hashResponse, moveLeaderResponse, statusResponse } from '../json/cluster-responses.ts';
import { snapshotRoute } from './maintenance-snapshot.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';
import { VERSION } from '../version.ts';

/** /v3/maintenance/*: status, alarm, defragment, hash, hashkv (edgecd's route: etcd 3.4's gateway cannot reach it), snapshot, transfer-leadership. */
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
  gatewayRoute<{ action: number; memberID: bigint; alarm: number }>(app, '/maintenance/alarm', g, {
    desc: AlarmRequestDesc,
    raft: true,
    auth: false,
    async handle(req) {
      return alarmResponse(await member.maintenance.alarm(req.action, req.memberID, req.alarm as never));
    },
  });
  gatewayRoute<object>(app, '/maintenance/defragment', g, {
    desc: DefragmentRequestDesc,
    raft: false,
    auth: true,
    async handle(_req, _c, _enc, ai) {
      await member.maintenance.defragment(ai);
      // etcd 3.4's gateway answers a defragment with an empty message: no header.
      return '{}';
    },
  });
  gatewayRoute<object>(app, '/maintenance/hash', g, {
    desc: HashRequestDesc,
    raft: false,
    auth: true,
    async handle(_req, _c, _enc, ai) {
      const h = await member.maintenance.hash(ai);
      return hashResponse(h.revision, g.headerInfo(), h.hash);
    },
  });
  gatewayRoute<{ revision: number }>(app, '/maintenance/hashkv', g, {
    desc: HashKVRequestDesc,
    raft: false,
    auth: true,
    async handle(req, _c, _enc, ai) {
      const h = await member.maintenance.hashKV(req.revision, ai);
      return hashResponse(member.revision, g.headerInfo(), h.hash, h.compactRevision);
    },
  });
  snapshotRoute(app, g, member);
}
