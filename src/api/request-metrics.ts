import type { Metrics } from '../metrics/metrics.ts';
import type { RouteMetrics } from './gateway.ts';
import { GRPC_CODE_NAMES, grpcMethodOf } from './grpc-methods.ts';

/**
 * Per-route request metrics under gRPC's names, as etcd's gateway requests are counted: the label
 * children are made once per route (and per code), so a request pays two increments and a
 * histogram observation, no label hashing.
 */
export function requestMetrics(metrics: Metrics): (route: string) => RouteMetrics | undefined {
  return (route) => {
    const g = grpcMethodOf(route);
    if (!g) return undefined;
    const labels = { grpc_type: g.type, grpc_service: g.service, grpc_method: g.method };
    const started = metrics.grpcStarted.labels(labels);
    const handling = metrics.grpcHandling.labels(labels);
    const handled = new Map<number, ReturnType<typeof metrics.grpcHandled.labels>>();
    return {
      started: () => started.inc(),
      handled(code, seconds) {
        let h = handled.get(code);
        if (!h) handled.set(code, (h = metrics.grpcHandled.labels({ ...labels, grpc_code: GRPC_CODE_NAMES[code] ?? String(code) })));
        h.inc();
        handling.observe(seconds);
      },
    };
  };
}
