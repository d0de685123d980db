import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cycles, importGraph, layerOf } from './import-graph.ts';

/**
 * The layers of ../shared/ARCHITECTURE.md, as rules over src's import graph: each layer names the
 * layers it may import, so nothing imports upwards. A layer missing here fails the test until it
 * is given its place.
 */

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

// Leaves any layer may use: errors, the version answered, the metrics registry, the logger.
const LEAVES = ['errors', 'version', 'metrics', 'logging'];

const MAY_IMPORT: Record<string, string[]> = {
  errors: [],
  version: [],
  metrics: [],
  logging: [],
  raft: [],
  storage: [...LEAVES],
  mvcc: ['storage', ...LEAVES],
  lease: ['mvcc', ...LEAVES],
  auth: ['mvcc', 'storage', ...LEAVES],
  transport: ['raft', 'storage', ...LEAVES],
  server: ['raft', 'mvcc', 'lease', 'auth', 'storage', 'transport', ...LEAVES],
  api: ['server', 'mvcc', ...LEAVES],
  grpc: ['server', 'mvcc', ...LEAVES],
  proxy: ['api', 'mvcc', ...LEAVES],
  cli: ['api', 'grpc', 'proxy', 'server', ...LEAVES],
};

/** Narrower rules inside an allowed arrow: the modules of a lower layer that may be imported. */
const ONLY: Record<string, Record<string, RegExp>> = {
  // The HTTP side talks to the member's public face, and to the request and answer types.
  api: { server: /^server\/(member|rpc-types|validate)\.ts$/ },
  grpc: { server: /^server\/(member|rpc-types|validate)\.ts$/ },
  // main boots a member and serves it; everything else is the member's business.
  cli: { server: /^server\/boot\.ts$/ },
  // mvcc and the transport know the stored row types, not the database.
  mvcc: { storage: /^storage\/rows\.ts$/ },
  transport: { storage: /^storage\/rows\.ts$/ },
};

const graph = importGraph(SRC);

/** Each import that breaks a rule, described. */
function violations(g: Map<string, string[]>): string[] {
  const broken: string[] = [];
  for (const [from, deps] of g) {
    const layer = layerOf(from);
    const allowed = MAY_IMPORT[layer];
    if (!allowed) {
      broken.push(`${from}: layer "${layer}" has no rules (add it to MAY_IMPORT)`);
      continue;
    }
    for (const to of deps) {
      const target = layerOf(to);
      if (target === layer) continue;
      if (!allowed.includes(target)) broken.push(`${from} -> ${to}: ${layer} may not import ${target}`);
      else if (ONLY[layer]?.[target] && !ONLY[layer][target].test(to)) broken.push(`${from} -> ${to}: ${layer} may import only ${ONLY[layer][target]} of ${target}`);
    }
  }
  return broken;
}

test('every import follows the layers: nothing imports upwards or sideways out of its rules', () => {
  assert.deepEqual(violations(graph), []);
});

test('errors live in a leaf module, and raft imports nothing of the rest', () => {
  assert.deepEqual(graph.get('errors.ts'), []);
  for (const [from, deps] of graph) if (layerOf(from) === 'raft') assert.deepEqual(deps.filter((d) => layerOf(d) !== 'raft'), [], from);
});

test('no import cycles', () => {
  assert.deepEqual(cycles(graph).map((c) => c.join(' -> ')), []);
});

test('the rules catch an upward import, a reach past a public face, an unknown layer and a cycle', () => {
  const bad = new Map([
    ['lease/lessor.ts', ['server/errors.ts']],
    ['api/routes/kv.ts', ['server/member.ts', 'server/applier.ts']],
    ['cache/x.ts', []],
    ['mvcc/a.ts', ['mvcc/b.ts']],
    ['mvcc/b.ts', ['mvcc/a.ts']],
  ]);
  assert.deepEqual(violations(bad), [
    'lease/lessor.ts -> server/errors.ts: lease may not import server',
    'api/routes/kv.ts -> server/applier.ts: api may import only /^server\\/(member|rpc-types|validate)\\.ts$/ of server',
    'cache/x.ts: layer "cache" has no rules (add it to MAY_IMPORT)',
  ]);
  assert.deepEqual(cycles(bad), [['mvcc/a.ts', 'mvcc/b.ts', 'mvcc/a.ts']]);
});
