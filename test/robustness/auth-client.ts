import type { Anomaly } from './check-registers.ts';

/**
 * The robustness harness with auth on: the clients speak as a user `app` (READ on every key, WRITE
 * on the register and lease prefixes), the harness's own final reads as root. Tokens go stale at
 * every role change (the churn below makes them): a request refused for its token is sent again
 * with a fresh one (a refused request did not happen, so it stays one operation). The churn grants
 * and revokes WRITE on `toggle/`, and probes write there and on `secret/` (never granted): a write
 * that succeeds where the caller's roles forbid it at that moment is an anomaly.
 */

export const APP_USER = { name: 'app', password: 'app-password' };
export const ROOT_USER = { name: 'root', password: 'root-password' };

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether an answer refused the request for its token (stale, unknown or missing), not its content. */
export function refusedForToken(status: number, body: { error?: string } | undefined): boolean {
  const e = body?.error ?? '';
  return status === 401 || e === 'etcdserver: revision of auth store is old' || e === 'etcdserver: user name is empty';
}

/** A watch canceled because of its token (the caller renews it and watches again). */
export const tokenCancelReason = (reason: string) => /invalid auth token|revision of auth store is old|user name is empty/.test(reason);

async function post(url: string, path: string, body: unknown, token?: string, timeoutMs = 4000): Promise<{ status: number; json: any }> {
  const r = await fetch(url + path, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, json: await r.json().catch(() => ({})) };
}

/** One user's token, renewed when refused; every caller shares the renewal in flight. */
export class TokenSource {
  private token: string | undefined;
  private renewing: Promise<string> | undefined;

  constructor(
    private readonly urls: () => string[],
    private readonly user: { name: string; password: string },
  ) {}

  async get(): Promise<string> {
    return this.token ?? this.renew();
  }

  /** The token now, if there is one (a renewal starts when there is none). */
  get current(): string | undefined {
    if (!this.token) void this.renew().catch(() => {});
    return this.token;
  }

  /** A token issued now (after every role change so far). */
  async fresh(): Promise<string> {
    this.token = undefined;
    return this.renew();
  }

  /** The token was refused: the next get() authenticates again (unless another caller did already). */
  refused(token: string): void {
    if (this.token === token) this.token = undefined;
  }

  private renew(): Promise<string> {
    this.renewing ??= (async () => {
      for (let attempt = 0; ; attempt++) {
        const urls = this.urls();
        const url = urls[attempt % urls.length];
        try {
          const r = await post(url, '/v3/auth/authenticate', this.user);
          if (r.status === 200 && typeof r.json.token === 'string') {
            this.token = r.json.token;
            return r.json.token as string;
          }
        } catch {
          // that member is down or slow: the next one
        }
        await sleep(100 + Math.min(1000, attempt * 50));
      }
    })().finally(() => (this.renewing = undefined));
    return this.renewing;
  }
}

/** Users, roles and auth on, through the first member that takes them. */
export async function enableAuth(urls: string[], prefixes: string[]): Promise<void> {
  const prefixEnd = (p: string) => p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
  const steps: [string, unknown][] = [
    ['/v3/auth/user/add', ROOT_USER],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/user/add', APP_USER],
    ['/v3/auth/role/add', { name: 'app' }],
    ['/v3/auth/role/grant', { name: 'app', perm: { permType: 'READ', key: b64('\0'), range_end: b64('\0') } }],
    ...prefixes.map((p): [string, unknown] => ['/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b64(p), range_end: b64(prefixEnd(p)) } }]),
    ['/v3/auth/user/grant', { user: 'app', role: 'app' }],
    ['/v3/auth/enable', {}],
  ];
  for (const [path, body] of steps) {
    for (let attempt = 0; ; attempt++) {
      const r = await post(urls[attempt % urls.length], path, body).catch(() => undefined);
      if (r?.status === 200) break;
      if (attempt > 50) throw new Error(`auth setup ${path}: ${JSON.stringify(r?.json)}`);
      await sleep(200);
    }
  }
}

interface Window {
  /** WRITE on toggle/ revoked and acknowledged at `from`, until the next grant was sent at `to`. */
  from: number;
  to: number;
}

interface ProbeWrite {
  key: string;
  call: number;
  ret?: number;
  status?: number;
}

/** Role churn and the writes that must never pass. */
export class AuthChurn {
  readonly revoked: Window[] = [];
  readonly probes: ProbeWrite[] = [];
  changes = 0;
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly urls: () => string[],
    private readonly root: TokenSource,
    private readonly app: TokenSource,
    private readonly now: () => number,
  ) {}

  start(): void {
    this.loops.push(this.churn(), this.probe('toggle/p'), this.probe('secret/p'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** As root, an auth change with a fresh token whenever the old one went stale. Returns when acknowledged. */
  private async asRoot(path: string, body: unknown): Promise<boolean> {
    for (let attempt = 0; attempt < 20 && !this.stopped; attempt++) {
      const urls = this.urls();
      const token = await this.root.get();
      const r = await post(urls[attempt % urls.length], path, body, token).catch(() => undefined);
      if (r?.status === 200) return true;
      if (r && refusedForToken(r.status, r.json)) this.root.refused(token);
      await sleep(200);
    }
    return false;
  }

  private async churn(): Promise<void> {
    const perm = { name: 'app', perm: { permType: 'WRITE', key: b64('toggle/'), range_end: b64('toggle0') } };
    let revokedAt: number | undefined;
    while (!this.stopped) {
      await sleep(1500 + Math.random() * 1500);
      if (this.stopped) break;
      const grantSent = this.now();
      if (revokedAt !== undefined) this.revoked.push({ from: revokedAt, to: grantSent });
      revokedAt = undefined;
      if (!(await this.asRoot('/v3/auth/role/grant', perm))) continue;
      this.changes++;
      await sleep(1000 + Math.random() * 1000);
      if (this.stopped) break;
      if (await this.asRoot('/v3/auth/role/revoke', { role: 'app', key: b64('toggle/'), range_end: b64('toggle0') })) {
        this.changes++;
        revokedAt = this.now();
      }
    }
    if (revokedAt !== undefined) this.revoked.push({ from: revokedAt, to: Infinity });
  }

  private async probe(prefix: string): Promise<void> {
    let n = 0;
    while (!this.stopped) {
      await sleep(150 + Math.random() * 150);
      const urls = this.urls();
      const key = `${prefix}${n++}`;
      const rec: ProbeWrite = { key, call: this.now() };
      this.probes.push(rec);
      try {
        const token = await this.app.get();
        const r = await post(urls[n % urls.length], '/v3/kv/put', { key: b64(key), value: b64('x') }, token);
        rec.status = r.status;
        rec.ret = this.now();
        if (refusedForToken(r.status, r.json)) this.app.refused(token);
      } catch {
        // unknown: down or slow
      }
    }
  }

  /**
   * Writes that passed where the caller's roles forbade them at every moment of the request, and
   * writes that were refused yet are in the members' final history.
   */
  check(finalEvents: { type: string; key: string }[] = []): Anomaly[] {
    const out: Anomaly[] = [];
    const byKey = new Map(this.probes.map((p) => [p.key, p]));
    for (const e of finalEvents) {
      const p = byKey.get(e.key);
      if (e.type === 'PUT' && p && p.status !== undefined && p.status !== 200) {
        out.push({ checker: 'auth', key: e.key, message: `a write to ${e.key} was refused (${p.status}) yet applied` });
      }
    }
    for (const p of this.probes) {
      if (p.status !== 200 || p.ret === undefined) continue;
      if (p.key.startsWith('secret/')) out.push({ checker: 'auth', key: p.key, message: `a write to ${p.key} passed: app never had WRITE on secret/ (${p.call.toFixed(0)}..${p.ret.toFixed(0)} ms)` });
      else if (this.revoked.some((w) => p.call >= w.from && p.ret! <= w.to)) {
        out.push({ checker: 'auth', key: p.key, message: `a write to ${p.key} passed while app's WRITE on toggle/ was revoked (${p.call.toFixed(0)}..${p.ret.toFixed(0)} ms)` });
      }
    }
    return out;
  }

  summary(): string {
    const passed = this.probes.filter((p) => p.status === 200).length;
    const refused = this.probes.filter((p) => p.status === 403).length;
    return `auth: ${this.changes} role changes, ${this.probes.length} probe writes (${passed} passed while granted, ${refused} refused)`;
  }
}
