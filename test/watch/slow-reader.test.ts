import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventSink } from '../../src/api/watch/sink.ts';
import { SlowReader } from '../../src/api/watch/slow-reader.ts';

/** A sink whose unread bytes the test sets. */
function fakeSink(): EventSink & { unread: number } {
  return { unread: 0, write() {}, get buffered() { return this.unread; }, closed: false, onDrain() {}, onClose() {}, end() {}, destroy() {} };
}

test('a client over the mark for slowTimeoutMs is cut off with the bytes it left unread; reading in time stops the clock', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const sink = fakeSink();
    const cuts: string[] = [];
    const slow = new SlowReader(sink, { highWaterMark: 100, slowTimeoutMs: 2_000 }, 'edgecd', (r) => cuts.push(r));
    sink.unread = 99;
    slow.wrote();
    mock.timers.tick(5_000);
    assert.deepEqual(cuts, [], 'under the mark: no clock');

    sink.unread = 150;
    slow.wrote();
    assert.equal(slow.full, true);
    mock.timers.tick(1_000);
    assert.equal(slow.drained(), false, 'still over the mark: the clock runs on');
    sink.unread = 10;
    assert.equal(slow.drained(), true);
    mock.timers.tick(5_000);
    assert.deepEqual(cuts, [], 'it read in time');

    sink.unread = 300;
    slow.wrote();
    slow.wrote();
    mock.timers.tick(1_999);
    assert.deepEqual(cuts, []);
    mock.timers.tick(1);
    assert.deepEqual(cuts, ['edgecd: watch stream cut off: the client did not read for 2 s (300 bytes waiting)']);

    // A clock that runs out after the client caught up (no drain event yet) cuts nothing.
    sink.unread = 300;
    slow.wrote();
    sink.unread = 0;
    mock.timers.tick(2_000);
    assert.equal(cuts.length, 1);
  } finally {
    mock.timers.reset();
  }
});
