import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/server.ts';

/** A start that cannot go on says why in one line and exits 1 (2 for a bad flag), leaving nothing behind. */

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.ts');

function start(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr });
    });
  });
}

test('a database that does not answer: one line naming it, exit code 1', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edgecd-fail-'));
  try {
    const port = await freePort();
    const r = await start(['--data-dir', dir, '--listen-client-urls', `http://127.0.0.1:${await freePort()}`, '--listen-peer-urls', `http://127.0.0.1:${await freePort()}`], { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nodb` });
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(lines[0], `edgecd: failed to start: the database does not answer (127.0.0.1:${port}): connection refused`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an --initial-cluster without this member: one line, exit code 1, no data directory made', { timeout: 60_000 }, async () => {
  const dir = path.join(os.tmpdir(), `edgecd-never-${process.pid}`);
  const r = await start(['--name', 'x', '--initial-cluster', 'y=http://127.0.0.1:2380', '--data-dir', dir]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), 'edgecd: failed to start: --initial-cluster has no member named "x"');
  assert.throws(() => rmSync(dir), /ENOENT/);
});

test('a bad flag value: one line naming the flag, exit code 2', { timeout: 60_000 }, async () => {
  const r = await start(['--quota-backend-bytes', 'lots']);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^edgecd: invalid value "lots" for --quota-backend-bytes/);
});
