/**
 * Inputs that depend on positions and padding rather than on weights: attention masks, position ids,
 * rotary tables and ALiBi biases. Computed once per batch in JavaScript and fed to the graph.
 */
import type { ModelConfig } from './model-config.js';

/** Large negative additive mask; exp() of it underflows to exactly 0 in float32, like HF's finfo.min. */
export const MASKED = -1e9;

export interface Batch {
  /** Token ids, [B][T], all rows of equal length (pad as needed). */
  ids: number[][];
  /** 1 for real tokens, 0 for padding, [B][T]; all ones when omitted. */
  attentionMask?: number[][];
}

export function batchShape(batch: Batch): [number, number] {
  const B = batch.ids.length;
  if (B === 0) throw new Error('empty batch');
  const T = batch.ids[0]!.length;
  if (T === 0) throw new Error('a sequence in the batch has no tokens');
  for (const row of batch.ids) if (row.length !== T) throw new Error(`batch rows differ in length (${T} vs ${row.length}); pad them and pass an attentionMask`);
  if (batch.attentionMask) {
    if (batch.attentionMask.length !== B || batch.attentionMask.some((r) => r.length !== T)) throw new Error('attentionMask must have the same [B][T] shape as ids');
  }
  return [B, T];
}

function maskOf(batch: Batch, B: number, T: number): number[][] {
  return batch.attentionMask ?? Array.from({ length: B }, () => new Array<number>(T).fill(1));
}

/** Position of each token: cumulative count of real tokens minus one (0 on padding), as HF generate does. */
export function positionIds(batch: Batch): number[][] {
  const [B, T] = batchShape(batch);
  const mask = maskOf(batch, B, T);
  return mask.map((row) => {
    let c = 0;
    return row.map((m) => {
      c += m ? 1 : 0;
      return m ? c - 1 : 0;
    });
  });
}

/** Additive attention mask [B, 1, T, T]: causal, padding, and an optional sliding window. */
export function attentionMask(batch: Batch, window: number | null): Float32Array {
  const [B, T] = batchShape(batch);
  const mask = maskOf(batch, B, T);
  const out = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const visible = j <= i && mask[b]![j] !== 0 && (window === null || i - j < window);
        out[(b * T + i) * T + j] = visible ? 0 : MASKED;
      }
    }
  }
  return out;
}

/**
 * Rotate-half RoPE tables [B, T, 1, rotaryDim] computed in float32 steps like HF (inv_freq, then
 * position × inv_freq, then cos/sin), so angles round the same way.
 */
export function rotaryTables(batch: Batch, rotaryDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const [B, T] = batchShape(batch);
  const pos = positionIds(batch);
  const half = rotaryDim / 2;
  const invFreq = Array.from({ length: half }, (_, i) => Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / rotaryDim)))));
  const cos = new Float32Array(B * T * rotaryDim);
  const sin = new Float32Array(B * T * rotaryDim);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * rotaryDim;
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(pos[b]![t]! * invFreq[i]!);
        cos[o + i] = cos[o + i + half] = Math.cos(angle);
        sin[o + i] = sin[o + i + half] = Math.sin(angle);
      }
    }
  }
  return { cos, sin };
}

/** ALiBi slopes for `n` heads (BLOOM's rule, also for head counts that are not powers of two). */
export function alibiSlopes(n: number): number[] {
  const closest = 2 ** Math.floor(Math.log2(n));
  const base = 2 ** -(2 ** -(Math.log2(closest) - 3));
  const slopes = Array.from({ length: closest }, (_, i) => base ** (i + 1));
  if (closest !== n) {
    const extraBase = 2 ** -(2 ** -(Math.log2(2 * closest) - 3));
    const remaining = Math.min(closest, n - closest);
    for (let i = 0; i < remaining; i++) slopes.push(extraBase ** (2 * i + 1));
  }
  return slopes;
}

/** ALiBi bias [B, H, 1, T]: slope × key position (positions count real tokens only). */
export function alibiBias(batch: Batch, nHeads: number): Float32Array {
  const [B, T] = batchShape(batch);
  const pos = positionIds(batch);
  const slopes = alibiSlopes(nHeads);
  const out = new Float32Array(B * nHeads * T);
  for (let b = 0; b < B; b++) for (let h = 0; h < nHeads; h++) for (let t = 0; t < T; t++) out[(b * nHeads + h) * T + t] = Math.fround(slopes[h]!) * pos[b]![t]!;
  return out;
}

/** The distinct sliding windows used by the model's layers (null = full causal attention). */
export function distinctWindows(cfg: ModelConfig): (number | null)[] {
  return [...new Set(cfg.localWindow)];
}

export function maskInputName(window: number | null): string {
  return window === null ? 'attn_mask' : `attn_mask_w${window}`;
}
