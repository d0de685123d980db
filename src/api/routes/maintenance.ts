import type { Hono } from 'hono';
import type { Member } from '../../server/member.ts';
import { Errors, EtcdError } from '../etcd-errors.ts';
import { MoveLeaderRequestDesc, StatusRequestDesc } from '../json/cluster-messages.ts';
import { moveLeaderResponse, statusResponse } from '../json/cluster-responses.ts';
import { gatewayRoute, type GatewayContext } from '../gateway.ts';
import { VERSION } from '../version.ts';

// etcd's ErrTimeoutLeaderTransfer is missing from its gateway's error table: gRPC sends it as Unknown.
const leaderTransferTimedOut = () => new EtcdError(2, 'etcdserver: request timed out, leader transfer took too long');

/** /v3/maintenance/status and /v3/maintenance/transfer-leadership. */
export function maintenanceRoutes(app: Hono, g: GatewayContext, member: Member, dbSize: () => Promise<number>): void {
  gatewayRoute<object>(app, '/maintenance/status', g, {
    desc: StatusRequestDesc,
    raft: false,
    auth: false,
    async handle() {
      const st = member.raftStatus();
      const size = await dbSize();
      return statusResponse(member.kv.currentRev, g.headerInfo(), {
        version: VERSION.etcdserver,
        dbSize: size,
        leader: member.leaderId,
        raftIndex: st.commit,
        raftTerm: st.term,
        raftAppliedIndex: member.appliedIndex,
        dbSizeInUse: size,
        isLearner: member.isLearner,
      });
    },
  });
  gatewayRoute<{ targetID: bigint }>(app, '/maintenance/transfer-leadership', g, {
    desc: MoveLeaderRequestDesc,
    raft: false,
    auth: false,
    async handle(req) {
      if (!member.isLeader) throw Errors.notLeader();
      const target = member.members.get(req.targetID);
      if (!target || target.isLearner) throw Errors.badLeaderTransferee();
      member.transferLeadership(req.targetID);
      const deadline = Date.now() + member.electionTimeoutMs * 3;
      while (member.leaderId !== req.targetID) {
        if (Date.now() > deadline) throw leaderTransferTimedOut();
        await new Promise((r) => setTimeout(r, member.heartbeatMs));
      }
      return moveLeaderResponse();
    },
  });
}
