/**
 * Every CLI command pays for what src/cli/main.ts imports at start. ECharts, resvg and the Hugging Face
 * tokenizers cost about 1.2 s of CPU to import (docs/benchmarks.md "Startup"), so they may only be loaded
 * when used: by a dynamic `import()` or a lazy `require` (src/viz/render.ts), never by a static import
 * reachable from the CLI entry. Type-only imports are erased and allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const HEAVY = /^(echarts|@resvg\/resvg-js|@huggingface\/tokenizers)(\/|$)/;

/** Specifiers of the static, value-level imports and re-exports of `file`. */
function staticImports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/^\s*(import|export)(\s+type)?\s[^'";]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)]
    .filter((m) => !m[2])
    .map((m) => (m[3] ?? m[4])!);
}

test('the CLI entry reaches ECharts, resvg and the HF tokenizers only lazily', () => {
  const seen = new Set<string>();
  const stack = [{ file: normalize('src/cli/main.ts'), via: [] as string[] }];
  const problems: string[] = [];
  while (stack.length) {
    const { file, via } = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(file)) {
      const chain = [...via, relative('.', file)];
      if (spec.startsWith('.')) stack.push({ file: normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))), via: chain });
      else if (HEAVY.test(spec)) problems.push(`${chain.join(' → ')} imports ${spec}`);
    }
  }
  assert.ok(seen.size > 40, `followed ${seen.size} files`);
  assert.deepEqual(problems, []);
});
