// Shared by scripts/record-golden.ts and test/conformance/gateway.test.ts: send one case request
// with node:http (not fetch: fetch refuses a body on GET and adds headers of its own) and capture
// the parts of the answer the golden files keep.
import http from 'node:http';
import type { CaseRequest } from './cases.ts';

/** Response headers compared between etcd and edgecd. */
export const COMPARED_HEADERS = ['content-type', 'allow'] as const;
/** Recorded for reference only (Go/grpc-gateway artefacts); never compared. */
export const INFO_HEADERS = ['x-content-type-options', 'grpc-metadata-content-type', 'trailer'] as const;

export interface RecordedResponse {
  status: number;
  /** content-type, allow and every access-control-* header, names lower-cased, sorted. */
  headers: Record<string, string>;
  /** Go/gateway artefacts etcd sends, recorded but not compared. */
  infoHeaders: Record<string, string>;
  /** The raw response body text (HTTP trailers excluded). */
  body: string;
}

function pick(raw: http.IncomingHttpHeaders, keep: (name: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(raw).sort()) {
    if (!keep(name)) continue;
    const v = raw[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export function comparedHeader(name: string): boolean {
  return name.startsWith('access-control-') || (COMPARED_HEADERS as readonly string[]).includes(name);
}

export function send(baseUrl: string, req: CaseRequest, timeoutMs = 30_000): Promise<RecordedResponse> {
  const url = new URL(req.path, baseUrl);
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
  if (body !== undefined) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: req.method, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: pick(res.headers, comparedHeader),
            infoHeaders: pick(res.headers, (n) => (INFO_HEADERS as readonly string[]).includes(n)),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`timeout after ${timeoutMs} ms: ${req.method} ${req.path}`)));
    r.on('error', reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}

/** What a golden file says about the request (huge bodies are abbreviated). */
export function describeRequest(req: CaseRequest): { method: string; path: string; headers?: Record<string, string>; body?: string; bodyLength?: number } {
  const out: { method: string; path: string; headers?: Record<string, string>; body?: string; bodyLength?: number } = { method: req.method, path: req.path };
  if (req.headers) out.headers = req.headers;
  if (req.body !== undefined) {
    if (req.body.length > 2000) {
      out.body = req.body.slice(0, 200) + `...(${req.body.length} chars)`;
      out.bodyLength = Buffer.byteLength(req.body);
    } else out.body = req.body;
  }
  return out;
}

export interface GoldenFile {
  case: string;
  note?: string;
  requests: Array<{ request: ReturnType<typeof describeRequest>; response: RecordedResponse }>;
}

/** Golden file name for the i-th case (0-based). */
export function goldenName(index: number, name: string): string {
  return `${String(index + 1).padStart(3, '0')}-${name}.json`;
}
