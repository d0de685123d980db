import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every module under a root and the modules of the same tree it imports (static, re-export and dynamic imports). */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (/\.(ts|mts|mjs|js)$/.test(name)) graph.set(rel(root, file), importsOf(root, file));
    }
  };
  walk(root);
  return graph;
}

const rel = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function importsOf(root: string, file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec);
    if (!target.startsWith(root + path.sep)) continue;
    out.push(rel(root, target));
  }
  return out;
}

/** The layer a module belongs to: its folder under the root, or the file itself at the top. */
export function layerOf(module: string): string {
  const i = module.indexOf('/');
  return i < 0 ? module.replace(/\.[^.]+$/, '') : module.slice(0, i);
}

/** Import cycles, each as the list of modules around it. */
export function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string) => {
    state.set(m, 'open');
    stack.push(m);
    for (const d of graph.get(m) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 'open') found.push(stack.slice(stack.indexOf(d)).concat(d));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(m, 'done');
  };
  for (const m of [...graph.keys()].sort()) if (!state.has(m)) visit(m);
  return found;
}
