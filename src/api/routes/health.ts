import { Hono } from 'hono';
import type { Metrics } from '../../metrics/metrics.ts';
import type { Member } from '../../server/member.ts';

const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8' };

/**
 * GET /health as etcd 3.4 answers it: {"health":"true"} with 200 when a leader is known, no alarm
 * is raised and (unless ?serializable=true) a linearizable read completes in time; "false" and 503
 * otherwise. /livez (the process answers) and /readyz (it serves requests), as etcd 3.5 names them.
 * GET /metrics: Prometheus text.
 */
export function healthRoutes(app: Hono, member: Member, metrics?: Metrics): void {
  app.get('/health', async (c) => {
    const ok = await member.health(c.req.query('serializable') === 'true');
    return c.body(JSON.stringify({ health: ok ? 'true' : 'false' }), ok ? 200 : 503, TEXT_HEADERS);
  });
  app.get('/livez', (c) => c.body('ok', 200, TEXT_HEADERS));
  app.get('/readyz', async (c) => {
    const ok = await member.health(false);
    return c.body(ok ? 'ok' : 'not ready', ok ? 200 : 503, TEXT_HEADERS);
  });
  if (metrics) app.get('/metrics', async (c) => c.body(await metrics.render(), 200, { 'content-type': metrics.contentType }));
}

/** The metrics listener's own app (--listen-metrics-urls): /metrics and /health only, as etcd's. */
export function metricsApp(member: Member, metrics: Metrics): Hono {
  const app = new Hono();
  healthRoutes(app, member, metrics);
  return app;
}
