/**
 * Go's time.ParseDuration, which etcd applies to the ttl= option of --auth-token: a sequence of
 * decimal numbers, each with a unit (ns, us, µs, μs, ms, s, m, h), optionally signed: "5m",
 * "1h30m", "1.5s", "-2m". A bare "0" is allowed; any other number needs a unit.
 * Returns milliseconds (fractional below 1 ms), or undefined when Go would return an error.
 */
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseGoDuration(s: string): number | undefined {
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
  while (rest !== '') {
    const m = part.exec(rest);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) return undefined;
    const unit = UNIT_MS[m[3]];
    if (unit === undefined) return undefined;
    total += Number(`${m[1] || '0'}.${m[2] ?? ''}0`) * unit;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}
