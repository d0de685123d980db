import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slowRequests } from '../../src/api/request-metrics.ts';

test('slow requests: the first is logged at once, then at most one line a second counting the others', () => {
  let t = 0;
  const lines: { method: string; code: string; tookMs: number; slowSinceLast: number }[] = [];
  const slow = slowRequests('Put', (f) => lines.push(f), () => t);
  slow(0, 0.25);
  assert.deepEqual(lines, [{ method: 'Put', code: 'OK', tookMs: 250, slowSinceLast: 1 }]);
  for (let i = 0; i < 5; i++) {
    t += 100;
    slow(14, 0.5);
  }
  assert.equal(lines.length, 1, 'within the second: counted, not logged');
  t = 1000;
  slow(14, 0.12);
  assert.deepEqual(lines[1], { method: 'Put', code: 'Unavailable', tookMs: 120, slowSinceLast: 6 });
  t = 5000;
  slow(0, 0.3);
  assert.equal(lines[2].slowSinceLast, 1);
});
