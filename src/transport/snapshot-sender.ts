import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import type { PeerHttp } from './peer-http.ts';
import type { Message } from '../raft/index.ts';
import { toWire } from './codec.ts';
import { PEER_HEADERS, type PeerTarget } from './peers.ts';

/**
 * Sends a snapshot (the state machine's rows, written by `exportState`) to a peer in one request.
 * The rows go to a local file first: reading them holds a database transaction open, and a slow
 * or lossy link must not hold it (and a connection the member's reads need) for as long as the
 * transfer takes.
 */
export async function sendSnapshot(
  peer: PeerTarget,
  m: Message,
  clusterId: string,
  exportState: (write: (line: string) => Promise<void>) => Promise<void>,
  http: PeerHttp,
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-snap-out-'));
  try {
    const file = path.join(dir, 'snapshot.ndjson');
    const out = createWriteStream(file);
    await exportState(async (line) => {
      if (!out.write(line + '\n')) await once(out, 'drain');
    });
    out.end();
    await once(out, 'close');
    const header = Buffer.from(JSON.stringify(toWire({ ...m, snapshot: { metadata: m.snapshot!.metadata, data: new Uint8Array(0) } }))).toString('base64');
    const r = await http.request(
      'POST',
      `${peer.urls[0]}/raft/snapshot`,
      { [PEER_HEADERS.cluster]: clusterId, [PEER_HEADERS.from]: m.from, [PEER_HEADERS.to]: m.to, 'x-edgecd-message': header },
      createReadStream(file),
      60_000,
    );
    if (r.status !== 204) throw new Error(`snapshot refused: ${r.status}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
