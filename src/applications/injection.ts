/**
 * Prompt-injection detection from prediction trajectories (paper §5.2; the reference's removed
 * `fit_anomaly_detector`): the lens's log-probabilities at every layer at a prompt's last position are its
 * features; Isolation Forest and LOF (novelty) are fitted on normal prompts only and score held-out
 * normal and suspect prompts (higher = more anomalous); AUROC with a seeded bootstrap 95% interval.
 * The baseline uses only the model's own output distribution at that position.
 *
 * Features are the raw log-probabilities (rows × vocabulary, flattened) by default; `pcaComponents`
 * projects them on principal axes fitted on the normal training rows first. docs/applications.md
 * compares both on stories260K.
 */
import type { Lens } from '../lens/lens.js';
import { fitIsolationForest, isolationForestScore, type IsolationForestModel } from './isolation-forest.js';
import { layerLogProbsAt } from './layer-log-probs.js';
import { fitLof, lofScore, type LofModel } from './lof.js';
import { fitPca, pcaTransform, type PcaModel } from './pca.js';
import { SeededRandom } from './random.js';
import { auroc, bootstrapAuroc, rocCurve, type RocPoint } from './roc.js';

export const DETECTORS = ['iforest', 'lof'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/** Last-position log-probabilities: every row (lens layers and output) and the output row alone. */
export interface PromptFeatures {
  trajectory: Float64Array[];
  output: Float64Array[];
}

export async function injectionFeatures(lens: Lens, sequences: number[][], onProgress?: (done: number, total: number) => void): Promise<PromptFeatures> {
  const V = lens.model.config.vocabSize;
  const L = lens.model.nLayers;
  const rows = await layerLogProbsAt(lens, sequences, sequences.map((s) => [s.length - 1]), { onProgress });
  return {
    trajectory: rows.map((r) => Float64Array.from(r[0]!)),
    output: rows.map((r) => Float64Array.from(r[0]!.subarray(L * V))),
  };
}

/** A fitted pair of detectors on one feature set. */
export interface FittedDetectors {
  pca: PcaModel | null;
  iforest: IsolationForestModel;
  lof: LofModel;
}

export function fitDetectors(train: Float64Array[], options: { pcaComponents?: number | null; seed?: number } = {}): FittedDetectors {
  const pca = options.pcaComponents ? fitPca(train, options.pcaComponents) : null;
  const x = pca ? train.map((r) => pcaTransform(pca, r)) : train;
  return { pca, iforest: fitIsolationForest(x, { seed: options.seed ?? 0 }), lof: fitLof(x) };
}

export function scoreDetectors(d: FittedDetectors, rows: Float64Array[]): Record<DetectorName, number[]> {
  const x = d.pca ? rows.map((r) => pcaTransform(d.pca!, r)) : rows;
  return { iforest: x.map((r) => isolationForestScore(d.iforest, r)), lof: x.map((r) => lofScore(d.lof, r)) };
}

/** Seeded split of the normal prompts: the first ⌊fraction·n⌋ of a random permutation train, the rest are held out (both sorted). */
export function splitNormal(n: number, trainFraction: number, seed: number): { train: number[]; heldOut: number[] } {
  if (!(trainFraction > 0 && trainFraction < 1)) throw new Error(`the train fraction must be in (0, 1), got ${trainFraction}`);
  const nTrain = Math.floor(trainFraction * n);
  if (nTrain < 2 || n - nTrain < 1) {
    throw new Error(`${n} normal prompts are too few for a train fraction of ${trainFraction}: ${nTrain} would fit the detectors (need ≥ 2) and ${n - nTrain} be held out (need ≥ 1)`);
  }
  const perm = new SeededRandom(seed).permutation(n);
  return { train: perm.slice(0, nTrain).sort((a, b) => a - b), heldOut: perm.slice(nTrain).sort((a, b) => a - b) };
}

export interface DetectorEvaluation {
  auroc: Record<DetectorName, number | null>;
  ci95: Record<DetectorName, [number, number] | null>;
  roc: Record<DetectorName, RocPoint[]>;
}

export function evaluateScores(labels: number[], scores: Record<DetectorName, number[]>, options: { seed?: number; bootstrapSamples?: number } = {}): DetectorEvaluation {
  const out: DetectorEvaluation = { auroc: { iforest: null, lof: null }, ci95: { iforest: null, lof: null }, roc: { iforest: [], lof: [] } };
  for (const d of DETECTORS) {
    out.auroc[d] = auroc(labels, scores[d]);
    out.ci95[d] = bootstrapAuroc(labels, scores[d], { samples: options.bootstrapSamples ?? 1000, seed: options.seed ?? 0 }).ci95;
    out.roc[d] = rocCurve(labels, scores[d]);
  }
  return out;
}

/** What `--save-detector` writes: both detector pairs plus what they were fitted for. */
export interface SavedInjectionDetector {
  format: 'tuned-lens-injection-detector';
  version: 1;
  lensKind: Lens['kind'];
  nLayers: number;
  vocabSize: number;
  trajectory: FittedDetectors;
  baseline: FittedDetectors;
}

export function checkDetectorFits(det: SavedInjectionDetector, lens: Lens): void {
  if (det.format !== 'tuned-lens-injection-detector' || det.version !== 1) throw new Error('not an injection detector file (format/version field missing or unknown)');
  if (det.nLayers !== lens.model.nLayers || det.vocabSize !== lens.model.config.vocabSize) {
    throw new Error(`the detector was fitted on a model with ${det.nLayers} layers and ${det.vocabSize} tokens; this model has ${lens.model.nLayers} and ${lens.model.config.vocabSize}`);
  }
  if (det.lensKind !== lens.kind) throw new Error(`the detector was fitted on ${det.lensKind} lens features; use the same kind of lens (${det.lensKind === 'logit' ? '--logit' : '--lens'})`);
}
