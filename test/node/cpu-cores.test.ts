/** Threads for large graphs: physical cores from a sysfs tree (hyperthreads and offline CPUs not counted), and the override. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { largeGraphThreads, physicalCores } from '../../src/node/cpu-cores.js';
import { createRuntime } from '../../src/node/runtime.js';

function fakeSysfs(cpus: { core: number; pkg: number; online?: boolean }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tl-sysfs-'));
  cpus.forEach(({ core, pkg, online }, i) => {
    mkdirSync(join(dir, `cpu${i}`, 'topology'), { recursive: true });
    writeFileSync(join(dir, `cpu${i}`, 'topology', 'core_id'), `${core}\n`);
    writeFileSync(join(dir, `cpu${i}`, 'topology', 'physical_package_id'), `${pkg}\n`);
    if (online !== undefined) writeFileSync(join(dir, `cpu${i}`, 'online'), online ? '1\n' : '0\n');
  });
  mkdirSync(join(dir, 'cpufreq')); // not a CPU
  return dir;
}

test('physical cores: two hyperthreads per core count once, cores of two packages count apart, offline CPUs not at all', () => {
  const dir = fakeSysfs([
    { core: 0, pkg: 0 },
    { core: 1, pkg: 0 },
    { core: 0, pkg: 0 }, // sibling of cpu0
    { core: 1, pkg: 0 }, // sibling of cpu1
    { core: 0, pkg: 1 },
    { core: 5, pkg: 1, online: false },
  ]);
  try {
    assert.equal(physicalCores(dir), 3);
  } finally {
    rmSync(dir, { recursive: true });
  }
  assert.equal(physicalCores('/nonexistent/sysfs'), null);
});

test('TUNED_LENS_THREADS overrides the core count; a bad value is refused by name', () => {
  assert.equal(largeGraphThreads({ TUNED_LENS_THREADS: '3' }), 3);
  for (const bad of ['0', '-1', '1.5', 'two']) assert.throws(() => largeGraphThreads({ TUNED_LENS_THREADS: bad }), /TUNED_LENS_THREADS must be a positive integer/);
  const n = largeGraphThreads({});
  assert.ok(Number.isInteger(n) && n >= 1);
});

test('a runtime built with TUNED_LENS_THREADS=bad fails with that message', () => {
  const saved = process.env.TUNED_LENS_THREADS;
  process.env.TUNED_LENS_THREADS = 'many';
  try {
    assert.throws(() => createRuntime(), /TUNED_LENS_THREADS must be a positive integer, got "many"/);
  } finally {
    if (saved === undefined) delete process.env.TUNED_LENS_THREADS;
    else process.env.TUNED_LENS_THREADS = saved;
  }
});
