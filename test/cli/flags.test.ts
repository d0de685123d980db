import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags } from '../../src/cli/flags.ts';
import { toConfig } from '../../src/cli/config.ts';

const cfg = (argv: string[], env: Record<string, string> = {}) => toConfig(parseFlags(argv, env).values);

test('defaults match etcd where etcd has one, and data-dir follows the name', () => {
  const c = cfg([]);
  assert.equal(c.maxRequestBytes, 1572864);
  assert.equal(c.maxTxnOps, 128);
  assert.deepEqual(c.listenClientUrls, ['http://127.0.0.1:2379']);
  assert.equal(cfg(['--name', 'n1']).dataDir, 'n1.edgecd');
  assert.equal(cfg(['--name=n1']).initialCluster, 'n1=http://127.0.0.1:2380');
});

test('flags win over ETCD_* variables, which win over defaults; DATABASE_URL sets --database-url', () => {
  assert.equal(cfg([], { ETCD_MAX_TXN_OPS: '7' }).maxTxnOps, 7);
  assert.equal(cfg(['--max-txn-ops', '9'], { ETCD_MAX_TXN_OPS: '7' }).maxTxnOps, 9);
  assert.equal(cfg([], { DATABASE_URL: 'postgres://x@h/db' }).databaseUrl, 'postgres://x@h/db');
});

test('unknown flags and bad values are refused with the flag named', () => {
  const refuses = (argv: string[], env: Record<string, string>, pattern: RegExp) =>
    assert.throws(() => cfg(argv, env), (e: unknown) => e instanceof FlagError && pattern.test(e.message));
  refuses(['--no-such-flag'], {}, /unknown flag: --no-such-flag/);
  refuses(['--max-txn-ops', 'many'], {}, /--max-txn-ops/);
  refuses(['--max-request-bytes', '0'], {}, /--max-request-bytes must be greater than 0/);
  refuses(['--listen-client-urls', 'ftp://x'], {}, /scheme must be http or https/);
  refuses(['--initial-cluster-state', 'maybe'], {}, /want one of new, existing/);
  refuses([], { ETCD_MAX_TXN_OPS: 'x' }, /ETCD_MAX_TXN_OPS/);
  refuses(['--database-url', 'mysql://x'], {}, /postgres:\/\//);
  refuses(['--election-timeout', '100'], {}, /at least 5 times/);
  refuses(['--name'], {}, /needs an argument/);
});

test('--help and --version are recognised', () => {
  assert.equal(parseFlags(['--help'], {}).help, true);
  assert.equal(parseFlags(['--version'], {}).version, true);
});

test('--auto-compaction-retention as etcd 3.4 reads it: hours or a duration in periodic mode, revisions in revision mode, 0 = off', () => {
  assert.equal(cfg([]).autoCompaction, undefined);
  assert.deepEqual(cfg(['--auto-compaction-retention', '1']).autoCompaction, { mode: 'periodic', retentionMs: 3_600_000 });
  assert.deepEqual(cfg(['--auto-compaction-retention', '30m']).autoCompaction, { mode: 'periodic', retentionMs: 1_800_000 });
  assert.deepEqual(cfg(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000']).autoCompaction, { mode: 'revision', retention: 1000 });
  assert.throws(() => cfg(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1h']), FlagError);
  assert.throws(() => cfg(['--auto-compaction-retention', 'soon']), FlagError);
});

test('no flag that does nothing: --cors other than * is refused with a message; a bad --auth-token or --bcrypt-cost stops the start', () => {
  assert.throws(() => cfg(['--cors', 'https://app.example']), /--cors .* is not supported yet/);
  assert.equal(cfg(['--cors', '*']).cors, '*');
  assert.throws(() => cfg(['--auth-token', 'magic']), /--auth-token/);
  assert.throws(() => cfg(['--bcrypt-cost', '3']), /--bcrypt-cost/);
  assert.equal(cfg(['--auth-token', 'simple']).authToken, 'simple');
});
