/**
 * How many intra-op threads large graphs get on Node: the physical cores this process may run on.
 *
 * Why not onnxruntime's default: on this project's VMs (2 cores, AMD EPYC family 26) it runs one thread,
 * so half the machine sat idle (a GPT-2 unembedding: 133–139 GFLOP/s with its default, 210–227 with 2
 * threads; docs/benchmarks.md). Why physical cores, not logical CPUs: a second hyperthread on a core that
 * already runs a matmul kernel competes for the same FMA units.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** `TUNED_LENS_THREADS` if set (a positive integer), else the physical cores available to this process. */
export function largeGraphThreads(env: NodeJS.ProcessEnv = process.env): number {
  const set = env.TUNED_LENS_THREADS;
  if (set !== undefined && set !== '') {
    const n = Number(set);
    if (!Number.isInteger(n) || n < 1) throw new Error(`TUNED_LENS_THREADS must be a positive integer, got "${set}"`);
    return n;
  }
  return Math.max(1, Math.min(availableParallelism(), physicalCores() ?? Infinity));
}

/** Distinct (package, core) pairs of the online CPUs (Linux sysfs); null where that cannot be read. */
export function physicalCores(sysfs = '/sys/devices/system/cpu'): number | null {
  try {
    const cores = new Set<string>();
    for (const name of readdirSync(sysfs)) {
      if (!/^cpu\d+$/.test(name)) continue;
      const read = (file: string): string | null => {
        try {
          return readFileSync(`${sysfs}/${name}/${file}`, 'utf8').trim();
        } catch {
          return null;
        }
      };
      if (read('online') === '0') continue;
      const core = read('topology/core_id');
      if (core === null) continue;
      cores.add(`${read('topology/physical_package_id') ?? '0'}:${core}`);
    }
    return cores.size > 0 ? cores.size : null;
  } catch {
    return null;
  }
}
