import { PassThrough } from 'node:stream';
import type { PeerHttp } from './peer-http.ts';
import type { Message } from '../raft/index.ts';
import { toWire } from './codec.ts';
import { PEER_HEADERS, type PeerTarget } from './peers.ts';

/** Streams a snapshot (the state machine's rows, written by `exportState`) to a peer in one request. */
export async function sendSnapshot(
  peer: PeerTarget,
  m: Message,
  clusterId: string,
  exportState: (write: (line: string) => Promise<void>) => Promise<void>,
  http: PeerHttp,
): Promise<void> {
  const pass = new PassThrough();
  const write = (line: string) =>
    new Promise<void>((resolve) => {
      if (pass.write(line + '\n')) resolve();
      else pass.once('drain', resolve);
    });
  const producing = exportState(write).then(
    () => pass.end(),
    (err) => pass.destroy(err),
  );
  const header = Buffer.from(JSON.stringify(toWire({ ...m, snapshot: { metadata: m.snapshot!.metadata, data: new Uint8Array(0) } }))).toString('base64');
  const r = await http.request(
    'POST',
    `${peer.urls[0]}/raft/snapshot`,
    { [PEER_HEADERS.cluster]: clusterId, [PEER_HEADERS.from]: m.from, [PEER_HEADERS.to]: m.to, 'x-edgecd-message': header },
    pass,
    60_000,
  );
  await producing;
  if (r.status !== 204) throw new Error(`snapshot refused: ${r.status}`);
}
