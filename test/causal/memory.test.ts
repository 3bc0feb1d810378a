/**
 * Causal basis extraction stays memory-bounded over many objective evaluations (issue 9: "keep memory
 * bounded by blocks of tokens"). Before the objective's sessions had onnxruntime's memory arena, every
 * evaluation malloc'd and freed its [block, vocab] intermediates on the main thread and glibc's heap
 * fragmented: `causal-basis` at the defaults peaked at 3.5 GB, and a 120-evaluation run on one layer
 * at 0.4–12 GB depending on the run. Small graphs now get the arena anyway (runtime.ts); the objective asks
 * for it at any size, and releases it after each layer so arenas do not pile up in the session cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-common';
import { Runtime, type OrtModule } from '../../src/graph/runtime.js';
import { loadModel } from '../../src/node/load-model.js';
import { loadTunedLens } from '../../src/node/load-lens.js';
import { LensInfluence } from '../../src/causal/lens-influence.js';
import { extractCausalBasis } from '../../src/causal/cbe.js';
import { goldenPath } from '../helpers/golden.js';

interface RecordedSession {
  options: InferenceSession.SessionOptions;
  /** The graph takes the basis: the objective (E and dE/dA), not the clean log-probs. */
  objective: boolean;
  released: boolean;
}

/** onnxruntime-node, recording each session's options, which graph it runs and whether it was released. */
function recordingOrt(): { module: OrtModule; sessions: RecordedSession[] } {
  const sessions: RecordedSession[] = [];
  const module: OrtModule = {
    Tensor: ort.Tensor as unknown as OrtModule['Tensor'],
    InferenceSession: {
      async create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> {
        const session = (await ort.InferenceSession.create(model, options)) as unknown as InferenceSession;
        const entry = { options: options ?? {}, objective: new TextDecoder().decode(model).includes('cbe.basis'), released: false };
        sessions.push(entry);
        const release = session.release.bind(session);
        session.release = async () => {
          entry.released = true;
          await release();
        };
        return session;
      },
    },
  };
  return { module, sessions };
}

const rssMiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

/** Deterministic hidden-state-like rows (scale of stories260K's residual stream). */
function rows(n: number, d: number): Float32Array {
  const h = new Float32Array(n * d);
  for (let i = 0; i < h.length; i++) h[i] = 2 * Math.sin(i * 0.37) + Math.cos(i * 0.011);
  return h;
}

test('the objective runs in an arena session, every session is released after a layer, RSS stays flat over 150 evaluations', async () => {
  const { module, sessions } = recordingOrt();
  const model = await loadModel('stories260K', { runtime: new Runtime(module) });
  const lens = await loadTunedLens(model, goldenPath('reference-lens', 'lens'));
  const d = model.config.dModel;
  const n = 8192; // four blocks of 2048 tokens × vocab 512, as at the defaults
  const hidden = { data: rows(n, d), n, d };

  // RSS after each of 150 evaluations of a 4-direction objective with a changing basis.
  const m = 4;
  const inf = new LensInfluence(lens, 1, hidden, { mode: 'mean' });
  const basis = new Float32Array(d * m);
  const rss: number[] = [];
  for (let i = 0; i < 150; i++) {
    basis.fill(0);
    for (let j = 0; j < m; j++) basis[((i + j) % d) * m + j] = 1;
    await inf.evaluate(basis, m);
    rss.push(rssMiB());
  }
  const objective = sessions.filter((s) => s.objective);
  assert.equal(objective.length, 1, 'one session serves every block and evaluation');
  assert.equal(objective[0]!.options.enableCpuMemArena, true, 'the objective runs with the memory arena');
  await inf.release();
  assert.ok(
    sessions.every((s) => s.released),
    'release() frees the objective (and its arena); the clean log-probs graph is released after its one pass',
  );
  const settled = rss[9]!;
  const peak = Math.max(...rss.slice(10));
  assert.ok(peak - settled < 100, `RSS grew from ${settled.toFixed(0)} MiB (10th evaluation) to ${peak.toFixed(0)} MiB over 150 evaluations`);

  // A whole (short) extraction leaves no session of its own open.
  const before = sessions.length;
  await extractCausalBasis(lens, 2, { data: rows(2048, d), n: 2048, d }, { k: 2, maxIter: 5 });
  const created = sessions.slice(before);
  assert.ok(created.length >= 2, `${created.length} sessions`);
  assert.deepEqual(
    created.map((s) => s.released),
    created.map(() => true),
    'every session extractCausalBasis created is released',
  );
});
