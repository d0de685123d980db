import type { Context } from 'hono';
import { nodeEnv } from './node-env.ts';

export class BodyTooLarge extends Error {
  constructor(readonly size: number) {
    super('body too large');
  }
}

/** The client went away (or Node cut the request) before its body was in: there is no one to answer. */
export class RequestAborted extends Error {
  constructor(cause?: Error) {
    super('request aborted', { cause });
  }
}

/**
 * The request body, refused once it passes `cap` bytes so a huge or endless body cannot fill
 * memory (a declared length over it was refused before: limitRequestBody). On Node it reads the
 * socket stream directly (no Web Request is built: faster); other runtimes go through the Web API.
 */
export async function readBody(c: Context, cap: number): Promise<Uint8Array> {
  const incoming = nodeEnv(c)?.incoming;
  if (!incoming) {
    const buf = new Uint8Array(await c.req.arrayBuffer());
    if (buf.length > cap) throw new BodyTooLarge(buf.length);
    return buf;
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    incoming.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > cap) {
        done = true;
        incoming.pause();
        reject(new BodyTooLarge(size));
        return;
      }
      chunks.push(chunk);
    });
    incoming.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    const fail = (err?: Error) => {
      if (done) return;
      done = true;
      reject(new RequestAborted(err));
    };
    incoming.on('error', fail);
    incoming.on('aborted', fail);
  });
}
