/**
 * The core (graph engine, formats, tokenizers, models, lenses, trajectories, data, training, eval,
 * figures' chart description) must run in a browser with onnxruntime-web: no imports of Node-only
 * modules, directly or through another file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const CORE_DIRS = ['src/graph', 'src/io', 'src/formats', 'src/tokenizers', 'src/models', 'src/lens', 'src/trajectory', 'src/data', 'src/train', 'src/eval'];
const CORE_FILES = ['src/core.ts', 'src/viz/heatmap-chart.ts', 'src/viz/heatmap-data.ts'];
const NODE_ONLY = /^(node:|fs$|path$|os$|child_process$|onnxruntime-node$|cli-progress$|commander$|@resvg\/)/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...src.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}

test('core modules import nothing Node-only, directly or transitively', () => {
  const roots = [...CORE_DIRS.flatMap(tsFiles), ...CORE_FILES];
  const seen = new Set<string>();
  const stack = roots.map((f) => ({ file: normalize(f), via: [] as string[] }));
  const problems: string[] = [];
  while (stack.length) {
    const { file, via } = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of imports(file)) {
      const chain = [...via, relative('.', file)];
      if (spec.startsWith('.')) {
        stack.push({ file: normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))), via: chain });
      } else if (NODE_ONLY.test(spec)) {
        problems.push(`${chain.join(' → ')} imports ${spec}`);
      }
    }
  }
  assert.ok(seen.size > 40, `checked ${seen.size} files`);
  assert.deepEqual(problems, []);
});
