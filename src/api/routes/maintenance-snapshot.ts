import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, Hono } from 'hono';
import type { Member } from '../../server/member.ts';
import { errorBody, header } from '../json/encode.ts';
import { GATEWAY_PREFIXES, JSON_HEADERS, NODE_JSON_HEADERS, errorResponse, type GatewayContext } from '../gateway.ts';
import { httpStatusOf } from '../grpc-status.ts';
import { authorize } from '../middleware/auth-token/index.ts';
import { postOnly } from '../middleware/method-not-allowed/index.ts';
import { nodeEnv } from '../node-env.ts';
import { EtcdError } from '../etcd-errors.ts';

/** Bytes of the file per {"result": {blob}} line. */
const CHUNK = 64 * 1024;

/**
 * POST /v3/maintenance/snapshot: the member's whole state as etcd's gateway streams a snapshot,
 * {"result":{"header","remaining_bytes","blob"}} lines whose blobs, decoded and joined, are the
 * snapshot file (`edgecd snapshot save` does that; `edgecd snapshot restore` starts a cluster from
 * it). The file is made first, so remaining_bytes counts down exactly. Root only, with auth on.
 */
export function snapshotRoute(app: Hono, g: GatewayContext, member: Member): void {
  const handler = async (c: Context): Promise<Response> => {
    const outgoing = nodeEnv(c)?.outgoing;
    if (!outgoing) return c.body(errorBody('streaming needs the Node server', 12), 501, JSON_HEADERS);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-snapshot-'));
    const file = path.join(dir, 'snapshot.ndjson');
    try {
      const ai = await authorize(c);
      const lines: string[] = [];
      await member.maintenance.snapshot(async (line) => void lines.push(line), ai);
      await writeFile(file, lines.join('\n') + '\n');
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      return errorResponse(c, err);
    }
    let remaining = statSync(file).size;
    outgoing.writeHead(200, NODE_JSON_HEADERS);
    const head = header({ revision: member.revision }, g.headerInfo());
    try {
      for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
        remaining -= (chunk as Buffer).length;
        const line = `{"result":{"header":${head}${remaining ? `,"remaining_bytes":"${remaining}"` : ''},"blob":"${(chunk as Buffer).toString('base64')}"}}\n`;
        if (!outgoing.write(line)) await new Promise((r) => outgoing.once('drain', r));
      }
      outgoing.end();
    } catch (err) {
      const e = err instanceof EtcdError ? err : new EtcdError(2, (err as Error).message);
      outgoing.end(JSON.stringify({ error: { grpc_code: e.code, http_code: httpStatusOf(e.code), message: e.message, http_status: '' } }) + '\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return RESPONSE_ALREADY_SENT;
  };
  for (const prefix of GATEWAY_PREFIXES) postOnly(app, `${prefix}/maintenance/snapshot`, handler);
}
