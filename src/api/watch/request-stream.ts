import { BASE64, type BytesEncoding } from '../json/bytes-encoding.ts';
import { decodeMessage } from '../json/proto-decode.ts';
import { T, type Node } from '../json/go-json.ts';
import { JsonValueStream, StreamError, type StreamItem as JsonStreamItem } from '../json/value-stream.ts';
import { messageSize } from '../json/proto-size.ts';
import { WatchRequestDesc, type WatchRequest } from '../json/watch-messages.ts';

export type StreamItem = JsonStreamItem<WatchRequest>;

const ONEOFS = [
  ['create_request', 'createRequest'],
  ['cancel_request', 'cancelRequest'],
  ['progress_request', 'progressRequest'],
] as const;

/** The WatchRequests of a POST /v3/watch body, as they arrive. */
export class WatchRequestStream extends JsonValueStream<WatchRequest> {
  constructor(
    /** gRPC's limit on one request (max-request-bytes + 512 KiB). */
    grpcMax: number,
    enc: BytesEncoding = BASE64,
  ) {
    super(
      (node) => {
        const req = decodeRequest(node, enc);
        const size = messageSize(req as Record<string, unknown>, WatchRequestDesc);
        if (size > grpcMax) throw new StreamError(`grpc: received message larger than max (${size} vs. ${grpcMax})`, 8);
        return req;
      },
      4 * grpcMax,
      grpcMax,
    );
  }
}

/** jsonpb's reading of one WatchRequest; a member given as null is no request at all (etcd skips it). */
function decodeRequest(node: Node, enc: BytesEncoding): WatchRequest {
  if (node.t === T.Null) return {};
  const req = decodeMessage(node, WatchRequestDesc, enc) as WatchRequest & Record<string, unknown>;
  if (node.t === T.Obj) {
    for (const [snake, camel] of ONEOFS) {
      const v = node.fields.get(camel) ?? node.fields.get(snake);
      if (v && v.t === T.Null) delete req[camel];
    }
  }
  return req;
}
