import type { Metrics } from '../metrics/metrics.ts';
import type { RouteMetrics } from './gateway.ts';
import { GRPC_CODE_NAMES, grpcMethodOf } from './grpc-methods.ts';

/** etcd warns of a request that took longer than its --warning-apply-duration, 100 ms by default. */
export const SLOW_REQUEST_SECONDS = 0.1;

export type SlowRequestLog = (fields: { method: string; code: string; tookMs: number; slowSinceLast: number }) => void;

/**
 * etcd's "request took too long" warning, at most once a second per method: an overloaded member
 * has every request slow, and a line per request would slow it further. The line counts the slow
 * requests since the last one.
 */
export function slowRequests(method: string, log: SlowRequestLog, now = () => performance.now()): (code: number, seconds: number) => void {
  let last = -Infinity;
  let since = 0;
  return (code, seconds) => {
    since++;
    const t = now();
    if (t - last < 1000) return;
    last = t;
    log({ method, code: GRPC_CODE_NAMES[code] ?? String(code), tookMs: Math.round(seconds * 1000), slowSinceLast: since });
    since = 0;
  };
}

/**
 * Per-route request metrics under gRPC's names, as etcd's gateway requests are counted: the label
 * children are made once per route (and per code), so a request pays two increments and a
 * histogram observation (prom-client still hashes the labels in each: ~1.6-2.5 us a request here).
 */
export function requestMetrics(metrics: Metrics, onSlow?: SlowRequestLog): (route: string) => RouteMetrics | undefined {
  return (route) => {
    const g = grpcMethodOf(route);
    if (!g) return undefined;
    const labels = { grpc_type: g.type, grpc_service: g.service, grpc_method: g.method };
    const started = metrics.grpcStarted.labels(labels);
    const handling = metrics.grpcHandling.labels(labels);
    const handled = new Map<number, ReturnType<typeof metrics.grpcHandled.labels>>();
    const slow = onSlow && slowRequests(g.method, onSlow);
    return {
      started: () => started.inc(),
      handled(code, seconds) {
        let h = handled.get(code);
        if (!h) handled.set(code, (h = metrics.grpcHandled.labels({ ...labels, grpc_code: GRPC_CODE_NAMES[code] ?? String(code) })));
        h.inc();
        handling.observe(seconds);
        if (slow && seconds > SLOW_REQUEST_SECONDS) slow(code, seconds);
      },
    };
  };
}
